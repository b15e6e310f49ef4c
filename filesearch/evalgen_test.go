package filesearch

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The retrieval evaluation set: product manuals and town guides written from
// templates by a seeded generator, so the corpus is realistic prose with many
// near-duplicate distractors (every manual has a warranty section, every
// guide a history) and the questions paraphrase the answer sentence rather
// than quote it. TestEvalSetCommitted keeps testdata/eval/*.json equal to
// this generator's output; `go test -run TestEvalSetCommitted -update`
// rewrites them.

type evalDoc struct {
	ID       string `json:"id"`
	Filename string `json:"filename"`
	Text     string `json:"text"`
}

type evalQuestion struct {
	Question string `json:"question"`
	DocID    string `json:"doc_id"`
	// Answer is the sentence that answers the question; a chunk is relevant
	// when it holds the whole sentence.
	Answer string `json:"answer"`
}

type evalSet struct {
	Docs      []evalDoc      `json:"docs"`
	Questions []evalQuestion `json:"questions"`
}

type gen struct{ r *rand.Rand }

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) shuffle(xs []string) []string {
	out := append([]string(nil), xs...)
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

var (
	brands = []string{"Aurora", "Birchwood", "Corvid", "Dunmore", "Everly", "Fenwick", "Galloway", "Harrow", "Islay", "Juniper",
		"Kestrel", "Larkspur", "Marlow", "Northcote", "Oakhurst", "Pembrey"}
	productTypes = []struct{ kind, part, component string }{
		{"kettle", "limescale filter", "heating element"},
		{"blender", "blade assembly", "motor"},
		{"electric bike", "chain", "hub motor"},
		{"robot vacuum", "brush roll", "drive motor"},
		{"air purifier", "HEPA filter", "fan"},
		{"coffee grinder", "burr set", "motor"},
		{"cordless drill", "chuck", "battery pack"},
		{"dehumidifier", "water tank", "compressor"},
		{"bread maker", "kneading paddle", "heating element"},
		{"lawn mower", "cutting blade", "engine"},
	}
	colors  = []string{"green", "blue", "white", "amber", "violet"}
	towns   = []string{"Elderford", "Marrowby", "Kelstone", "Ashcombe", "Wyndham Cross", "Penhallow", "Thornbury Vale", "Caddon Ferry", "Lowick", "Brackenridge", "Skelmoor", "Holloway Sands", "Fairlight", "Stennock", "Rivington", "Glenarvon", "Hobb's Reach", "Quarry End"}
	firsts  = []string{"Agnes", "Tobias", "Miriam", "Edwin", "Rosalind", "Cuthbert", "Helena", "Ambrose", "Winifred", "Silas", "Ottilie", "Bartholomew"}
	lasts   = []string{"Thorne", "Aldridge", "Pennock", "Fairweather", "Stroud", "Mallory", "Quill", "Harcourt", "Vance", "Bellamy"}
	trades  = []string{"wool merchant", "mill owner", "ferryman", "clergyman", "stonemason", "brewer", "shipwright", "tanner"}
	months  = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	days    = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	dishes  = []string{"eel pie", "saffron buns", "smoked trout pâté", "bramble crumble", "mutton stew", "cheese scones", "pickled herring", "potato cakes", "oat biscuits", "cider-braised pork"}
	seasons = []string{"late autumn", "the winter months", "early spring", "the summer"}
)

func buildEvalSet() evalSet {
	g := gen{rand.New(rand.NewPCG(2024, 8))}
	var set evalSet
	// 40 manuals: every product type from four brands.
	n := 0
	for ti, pt := range productTypes {
		for k := 0; k < 4; k++ {
			brand := brands[(ti*5+k*3)%len(brands)]
			model := fmt.Sprintf("%c%d", 'A'+rune((ti+k)%20), 10+g.r.IntN(80))
			d, qs := manual(g, fmt.Sprintf("doc-m%02d", n), brand, model, pt.kind, pt.part, pt.component)
			set.Docs = append(set.Docs, d)
			set.Questions = append(set.Questions, qs...)
			n++
		}
	}
	for i, t := range towns {
		d, qs := townGuide(g, fmt.Sprintf("doc-t%02d", i), t)
		set.Docs = append(set.Docs, d)
		set.Questions = append(set.Questions, qs...)
	}
	return set
}

func manual(g gen, id, brand, model, kind, part, component string) (evalDoc, []evalQuestion) {
	name := brand + " " + model
	full := "the " + name + " " + kind
	years := 1 + g.r.IntN(5)
	hours := 2 + g.r.IntN(6)
	watts := []int{18, 24, 36, 45, 65}[g.r.IntN(5)]
	color := colors[g.r.IntN(len(colors))]
	weeks := 2 + g.r.IntN(10)
	code := fmt.Sprintf("E%d", 10+g.r.IntN(89))
	rest := 10 + 5*g.r.IntN(8)
	kg := fmt.Sprintf("%d.%d", 1+g.r.IntN(20), g.r.IntN(10))
	age := []int{8, 10, 12, 14, 16}[g.r.IntN(5)]
	pack := 2 + g.r.IntN(4)
	pn := fmt.Sprintf("%s-%04d", strings.ToUpper(brand[:3]), g.r.IntN(10000))

	facts := []struct {
		section, answer string
		qs              []string
	}{
		{"Warranty", fmt.Sprintf("%s is covered by a %d-year limited warranty against defects in materials and workmanship, starting on the date of purchase.", cap1(full), years),
			[]string{fmt.Sprintf("How long is the guarantee on the %s %s?", brand, kind), fmt.Sprintf("For how many years is my %s %s protected against manufacturing faults?", brand, kind)}},
		{"Power and charging", fmt.Sprintf("Recharging the battery of %s takes roughly %d hours with the supplied %d W adapter, and the status light turns %s once it is full.", full, hours, watts, color),
			[]string{fmt.Sprintf("How many hours does it take to recharge the %s %s?", brand, kind), fmt.Sprintf("What colour does the indicator on the %s %s show when charging has finished?", brand, kind)}},
		{"Cleaning and care", fmt.Sprintf("Take out the %s of %s and rinse it under warm water every %d weeks, letting it dry completely before you refit it.", part, full, weeks),
			[]string{fmt.Sprintf("How often should the %s of the %s %s be washed?", part, brand, kind), fmt.Sprintf("What maintenance interval applies to the %s in my %s %s?", part, brand, kind)}},
		{"Troubleshooting", fmt.Sprintf("If the display of %s shows code %s, the %s has overheated: switch it off, unplug it and wait %d minutes before starting again.", full, code, component, rest),
			[]string{fmt.Sprintf("My %s %s shows %s, what is wrong and what do I do?", brand, kind, code), fmt.Sprintf("What does fault %s mean on a %s %s?", code, brand, kind)}},
		{"Specifications", fmt.Sprintf("Without accessories %s weighs %s kilograms, so it can be carried with one hand.", full, kg),
			[]string{fmt.Sprintf("How heavy is the %s %s?", brand, kind), fmt.Sprintf("What is the weight of the %s %s without its accessories?", brand, kind)}},
		{"Safety", fmt.Sprintf("Children younger than %d must not use %s, even under supervision, and it should be stored out of their reach.", age, full),
			[]string{fmt.Sprintf("From what age can kids operate the %s %s?", brand, kind), fmt.Sprintf("Is the %s %s safe for children to use?", brand, kind)}},
		{"Spare parts", fmt.Sprintf("Replacement parts for %s, such as the %s, are sold in packs of %d under part number %s.", full, part, pack, pn),
			[]string{fmt.Sprintf("Which part number do I order to get a spare %s for the %s %s?", part, brand, kind), fmt.Sprintf("Where can I buy a new %s for my %s %s, and how many come in a pack?", part, brand, kind)}},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s — Owner's Manual\n\n", name, cap1(kind))
	b.WriteString("Overview\n\n")
	b.WriteString(g.pick(
		fmt.Sprintf("Thank you for choosing %s. This manual explains how to set it up, keep it in good condition and solve common problems. ", full),
		fmt.Sprintf("Congratulations on your new %s %s. Please read these instructions before first use and keep them for later reference. ", brand, kind),
		fmt.Sprintf("This guide covers installation, daily use and care of %s. Keep it somewhere you can find it. ", full)))
	b.WriteString(g.pick(
		fmt.Sprintf("The %s was designed at the %s workshop to be quiet, durable and easy to repair. ", kind, brand),
		fmt.Sprintf("Every %s product is tested at the factory before it is packed, and the %s is no exception. ", brand, kind),
		fmt.Sprintf("Like other %s appliances, it uses standard parts that any service centre can supply. ", brand)))
	b.WriteString(g.pick(
		"Sections on power, cleaning and troubleshooting follow, with the warranty terms and spare parts at the end.\n\n",
		"If something does not work as described, look at the troubleshooting section before contacting support.\n\n",
		"Your retailer or our service network can help with anything this manual does not answer.\n\n"))
	b.WriteString("Getting started\n\n")
	for _, s := range g.shuffle([]string{
		"Unpack all parts and remove every piece of tape and protective film.",
		fmt.Sprintf("Place the %s on a stable, level surface away from heat sources and running water.", kind),
		"Check that the voltage on the rating label matches your mains supply.",
		fmt.Sprintf("Fit the %s until it clicks into place; it only fits one way round.", part),
		"Run the unit once without load so that any manufacturing residue burns off or is flushed out.",
	})[:4] {
		b.WriteString(s + " ")
	}
	b.WriteString("\n\n")
	for _, i := range g.r.Perm(len(facts)) {
		f := facts[i]
		b.WriteString(f.section + "\n\n")
		pre := g.pick(
			fmt.Sprintf("Read this section carefully before you use the %s for the first time. ", kind),
			fmt.Sprintf("This part of the manual applies to every unit sold under the %s name. ", brand),
			"Keep your receipt, as our service centre may ask for it. ",
			fmt.Sprintf("The %s has been designed so that routine care takes only a few minutes. ", component),
			"")
		post := g.pick(
			"Contact an authorised service centre if the problem persists.",
			"Using parts from other manufacturers may damage the appliance.",
			fmt.Sprintf("Misuse, such as operating the %s without its %s, is not covered.", kind, part),
			"Follow local rules when you dispose of worn parts and packaging.",
			"")
		b.WriteString(pre + f.answer + " " + post + "\n\n")
	}
	b.WriteString("Frequently asked questions\n\n")
	for _, qa := range g.shuffle(manualFAQ(brand, kind, part, component))[:5] {
		b.WriteString(qa + "\n\n")
	}
	other := brands[(indexOf(brands, brand)+1+g.r.IntN(len(brands)-1))%len(brands)]
	fmt.Fprintf(&b, "Accessories and compatibility\n\n%s\n\n", g.pick(
		fmt.Sprintf("The %s from %s fits this model as well as the %s %s, whose charging dock is similar. Older %s accessories may need an adapter.", part, brand, other, kind, brand),
		fmt.Sprintf("Owners upgrading from a %s %s can keep their spare %s: the mounting is the same. Accessories made for other %s ranges do not fit.", other, kind, part, brand),
		fmt.Sprintf("A travel case and a wall bracket are available. Unlike the %s %s, this model does not need a separate %s guard.", other, kind, part)))
	var qs []evalQuestion
	for _, f := range facts {
		qs = append(qs, evalQuestion{Question: g.pick(f.qs...), DocID: id, Answer: f.answer})
	}
	return evalDoc{ID: id, Filename: strings.ToLower(brand+"-"+model+"-"+strings.ReplaceAll(kind, " ", "-")) + "-manual.md", Text: b.String()}, qs
}

// manualFAQ is a pool of answers that share each section's vocabulary
// (warranty, charging, cleaning, errors, weight) without its facts.
func manualFAQ(brand, kind, part, component string) []string {
	return []string{
		fmt.Sprintf("Does the warranty cover wear? No: the %s is a wearing part, and damage from drops, spills or unauthorised repair is excluded from the guarantee.", part),
		fmt.Sprintf("Can I use another charger? Only the adapter supplied with your %s %s is approved; a weaker charger makes charging slower and may stop the battery from filling.", brand, kind),
		fmt.Sprintf("Can the %s go in the dishwasher? We recommend washing it by hand, as detergent tablets dull the finish over time.", part),
		fmt.Sprintf("The display shows a code I cannot find in this manual. Write it down, switch the %s off and contact support with the code and the serial number.", kind),
		fmt.Sprintf("Why is the %s louder than when it was new? Dust on the %s is the usual cause; cleaning it as described in the care section helps.", kind, component),
		fmt.Sprintf("Is the %s heavy to move? Use the carry handle and lift it from below; never lift it by the %s.", kind, part),
		"Can children help with cleaning? Only adults should handle sharp or hot parts, and the unit must be unplugged first.",
		fmt.Sprintf("Where can I get spare parts? Authorised %s dealers stock the common parts; others can be ordered with the part number from the spare parts section.", brand),
		"How should I store it over winter? Clean and dry it, charge the battery to about half, and keep it in a frost-free room.",
	}
}

func townGuide(g gen, id, town string) (evalDoc, []evalQuestion) {
	year := 1120 + g.r.IntN(700)
	founder := firsts[g.r.IntN(len(firsts))] + " " + lasts[g.r.IntN(len(lasts))]
	trade := trades[g.r.IntN(len(trades))]
	month := months[g.r.IntN(12)]
	other := towns[(g.r.IntN(len(towns)-1)+1+indexOf(towns, town))%len(towns)]
	km := 3 + g.r.IntN(40)
	every := []int{10, 15, 20, 30, 45, 60}[g.r.IntN(6)]
	day := days[g.r.IntN(7)]
	mm := 550 + 10*g.r.IntN(120)
	season := seasons[g.r.IntN(len(seasons))]
	dish := dishes[g.r.IntN(len(dishes))]
	bridge := 2 + g.r.IntN(9)

	facts := []struct {
		section, answer string
		qs              []string
	}{
		{"History", fmt.Sprintf("%s was founded in %d by %s, a %s who built the first houses beside the river crossing.", town, year, founder, trade),
			[]string{fmt.Sprintf("Who established %s, and in which year?", town), fmt.Sprintf("When did %s come into existence and who started it?", town)}},
		{"Festivals", fmt.Sprintf("Every %s %s holds its lantern procession, when residents carry paper lanterns from the market square to the harbour wall.", month, town),
			[]string{fmt.Sprintf("In which month does the lantern parade take place in %s?", town), fmt.Sprintf("When is the yearly lantern walk in %s held?", town)}},
		{"Getting there", fmt.Sprintf("The nearest railway station to %s is at %s, %d kilometres away, and a shuttle bus leaves every %d minutes.", town, other, km, every),
			[]string{fmt.Sprintf("How far is the closest train station from %s?", town), fmt.Sprintf("How often does the bus run between %s and the railway?", town)}},
		{"Museums", fmt.Sprintf("The %s Heritage Museum opens every day except %s, and admission is free for visitors under eighteen.", town, day),
			[]string{fmt.Sprintf("On which day is the heritage museum in %s closed?", town), fmt.Sprintf("When can I not visit the %s museum?", town)}},
		{"Climate", fmt.Sprintf("%s receives about %d millimetres of rain a year, most of it during %s.", town, mm, season),
			[]string{fmt.Sprintf("How much rainfall does %s get annually?", town), fmt.Sprintf("When is the wettest time of year in %s?", town)}},
		{"Food and drink", fmt.Sprintf("The dish visitors to %s ask for most is %s, served in nearly every pub along the quay.", town, dish),
			[]string{fmt.Sprintf("What local speciality should I try in %s?", town), fmt.Sprintf("Which food is %s famous for?", town)}},
		{"Walks", fmt.Sprintf("The riverside path from %s crosses %d stone bridges before it reaches the old mill.", town, bridge),
			[]string{fmt.Sprintf("How many bridges does the river walk from %s pass over?", town), fmt.Sprintf("What will I cross on the riverside trail out of %s?", town)}},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# A visitor's guide to %s\n\n", town)
	b.WriteString(g.pick(
		fmt.Sprintf("%s is a small market town with narrow lanes, a working harbour and more tea rooms than seems reasonable. ", town),
		fmt.Sprintf("Tucked into a bend of the river, %s rewards visitors who take their time. ", town),
		fmt.Sprintf("Few guidebooks mention %s, which is exactly why its regulars like it. ", town)))
	b.WriteString(g.pick(
		"Most of what is worth seeing lies within a short walk of the market square.\n\n",
		"Accommodation fills quickly in the summer, so book ahead.\n\n",
		"The tourist office beside the church has maps and bus timetables.\n\n"))
	for _, i := range g.r.Perm(len(facts)) {
		f := facts[i]
		fmt.Fprintf(&b, "## %s\n\n", f.section)
		pre := g.pick(
			"Locals are happy to give directions, though their estimates of distance are optimistic. ",
			"Opening hours change with the season, so check before you set out. ",
			fmt.Sprintf("Much of %s's character comes from its past as a river port. ", town),
			"")
		post := g.pick(
			"Bring a waterproof jacket whatever the forecast says.",
			"The parish records in the library tell the story in more detail.",
			"Parking near the square is limited on market days.",
			"")
		b.WriteString(pre + f.answer + " " + post + "\n\n")
	}
	near := towns[(indexOf(towns, town)+1+g.r.IntN(len(towns)-1))%len(towns)]
	fmt.Fprintf(&b, "## Nearby\n\n%s %s\n\n", g.pick(
		fmt.Sprintf("A day trip to %s is easy by bus; its museum is larger, its festival smaller, and its railway station busier.", near),
		fmt.Sprintf("Walkers often continue to %s, whose history is older and whose rainfall is higher.", near),
		fmt.Sprintf("Many visitors combine %s with %s, known for its bridges and its own lantern evening.", town, near)),
		g.pick("Taxis are scarce after dark.", "The coastal road is closed in high winds.", "Cyclists should allow a full day."))
	var qs []evalQuestion
	for _, f := range facts {
		qs = append(qs, evalQuestion{Question: g.pick(f.qs...), DocID: id, Answer: f.answer})
	}
	return evalDoc{ID: id, Filename: strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(town, "'", ""), " ", "-")) + "-guide.md", Text: b.String()}, qs
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return 0
}

func cap1(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
