package pgevents

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/hearth-go/hearth/apitype"
	"github.com/hearth-go/hearth/engine"
)

// Runs is the bus as the engine's EventBus (engine.Config.Events): runs'
// events, owner the run id, each a row named by the event, its data the
// envelope below.
func (b *Bus) Runs() engine.EventBus { return runBus{b} }

type runBus struct{ b *Bus }

// runData is a run event's row data: the one field Event has set (an
// error with its HTTP status, which its JSON leaves out).
type runData struct {
	Thread       *apitype.Thread            `json:"thread,omitempty"`
	Run          *apitype.Run               `json:"run,omitempty"`
	Step         *apitype.RunStep           `json:"step,omitempty"`
	StepDelta    *apitype.RunStepDeltaEvent `json:"step_delta,omitempty"`
	Message      *apitype.Message           `json:"message,omitempty"`
	MessageDelta *apitype.MessageDeltaEvent `json:"message_delta,omitempty"`
	Error        *runError                  `json:"error,omitempty"`
}

type runError struct {
	Type    apitype.ErrorType `json:"type"`
	Code    string            `json:"code,omitempty"`
	Param   string            `json:"param,omitempty"`
	Message string            `json:"message"`
	Status  int               `json:"status"`
}

// Publish encodes now (the engine may change what an event points to
// once it has published it) and queues the rows.
func (r runBus) Publish(owner string, evs ...apitype.Event) {
	out := make([]Event, 0, len(evs))
	for _, ev := range evs {
		d := runData{Thread: ev.Thread, Run: ev.Run, Step: ev.Step, StepDelta: ev.StepDelta, Message: ev.Message, MessageDelta: ev.MessageDelta}
		if e := ev.Error; e != nil {
			d.Error = &runError{e.Type, e.Code, e.Param, e.Message, e.Status}
		}
		data, err := json.Marshal(d)
		if err != nil {
			r.b.opts.Logger.Error("pgevents: encode run event", "run", owner, "event", ev.Event, "err", err)
			continue
		}
		final := ev.Event == apitype.EventError || ev.Run != nil && ev.Run.Status.Terminal() && ev.Event != apitype.EventRunCreated
		out = append(out, Event{Name: string(ev.Event), Data: data, Final: final, Value: ev})
	}
	r.b.Append(owner, out...)
}

func (r runBus) Subscribe(owner string) engine.Subscription { return runSub{r.b.Follow(owner, -1)} }

type runSub struct{ f *Follower }

func (s runSub) Close() { s.f.Close() }

func (s runSub) Next(ctx context.Context) (apitype.Event, error) {
	ev, err := s.f.Next(ctx)
	switch {
	case errors.Is(err, ErrLagging):
		return apitype.Event{}, engine.ErrEventsLagging
	case errors.Is(err, ErrClosed):
		return apitype.Event{}, engine.ErrClosed
	case err != nil:
		return apitype.Event{}, err
	}
	if v, ok := ev.Value.(apitype.Event); ok {
		return v, nil
	}
	return decodeRun(ev)
}

func decodeRun(ev Event) (apitype.Event, error) {
	var d runData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return apitype.Event{}, err
	}
	out := apitype.Event{Event: apitype.EventType(ev.Name), Thread: d.Thread, Run: d.Run, Step: d.Step,
		StepDelta: d.StepDelta, Message: d.Message, MessageDelta: d.MessageDelta}
	if e := d.Error; e != nil {
		out.Error = &apitype.Error{Type: e.Type, Code: e.Code, Param: e.Param, Message: e.Message, Status: e.Status}
	}
	return out, nil
}
