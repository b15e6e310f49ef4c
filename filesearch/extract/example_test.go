package extract_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hearth-go/hearth/filesearch/extract"
)

func ExampleText() {
	text, err := extract.Text("page.html", strings.NewReader("<h1>Opening hours</h1><p>Mon&ndash;Fri 9&ndash;17</p>"), 1<<20)
	fmt.Println(text, err)

	_, err = extract.Text("slides.pptx", strings.NewReader("PK\x03\x04..."), 1<<20)
	fmt.Println(errors.Is(err, extract.ErrUnsupported))
	// Output:
	// Opening hours
	// Mon–Fri 9–17 <nil>
	// true
}
