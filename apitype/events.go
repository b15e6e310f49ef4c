package apitype

// EventType names a streaming event.
type EventType string

// Streaming event names, exactly as on the wire.
const (
	EventThreadCreated     EventType = "thread.created"
	EventRunCreated        EventType = "thread.run.created"
	EventRunQueued         EventType = "thread.run.queued"
	EventRunInProgress     EventType = "thread.run.in_progress"
	EventRunRequiresAction EventType = "thread.run.requires_action"
	EventRunCompleted      EventType = "thread.run.completed"
	EventRunIncomplete     EventType = "thread.run.incomplete"
	EventRunFailed         EventType = "thread.run.failed"
	EventRunCancelling     EventType = "thread.run.cancelling"
	EventRunCancelled      EventType = "thread.run.cancelled"
	EventRunExpired        EventType = "thread.run.expired"
	EventRunStepCreated    EventType = "thread.run.step.created"
	EventRunStepInProgress EventType = "thread.run.step.in_progress"
	EventRunStepDelta      EventType = "thread.run.step.delta"
	EventRunStepCompleted  EventType = "thread.run.step.completed"
	EventRunStepFailed     EventType = "thread.run.step.failed"
	EventRunStepCancelled  EventType = "thread.run.step.cancelled"
	EventRunStepExpired    EventType = "thread.run.step.expired"
	EventMessageCreated    EventType = "thread.message.created"
	EventMessageInProgress EventType = "thread.message.in_progress"
	EventMessageDelta      EventType = "thread.message.delta"
	EventMessageCompleted  EventType = "thread.message.completed"
	EventMessageIncomplete EventType = "thread.message.incomplete"
	EventError             EventType = "error"
	EventDone              EventType = "done"
)

// RunEventFor returns the event announcing a run that entered status s.
func RunEventFor(s RunStatus) EventType {
	return EventType("thread.run." + string(s))
}

// StepEventFor returns the event announcing a step that entered status s.
func StepEventFor(s StepStatus) EventType {
	return EventType("thread.run.step." + string(s))
}

// MessageDeltaEvent is the data of thread.message.delta.
type MessageDeltaEvent struct {
	ID     string       `json:"id"`
	Object string       `json:"object"`
	Delta  MessageDelta `json:"delta"`
}

// MessageDelta holds changed content parts, each with its Index.
type MessageDelta struct {
	Role    Role             `json:"role,omitempty"`
	Content []MessageContent `json:"content,omitempty"`
}

// RunStepDeltaEvent is the data of thread.run.step.delta.
type RunStepDeltaEvent struct {
	ID     string       `json:"id"`
	Object string       `json:"object"`
	Delta  RunStepDelta `json:"delta"`
}

// RunStepDelta holds changed step details.
type RunStepDelta struct {
	StepDetails StepDeltaDetails `json:"step_details"`
}

// StepDeltaDetails is the changed part of a step's details.
type StepDeltaDetails struct {
	Type      StepType        `json:"type"`
	ToolCalls []ToolCallDelta `json:"tool_calls,omitempty"`
}

// ToolCallDelta is the changed part of one tool call. SDKs merge deltas by
// Index, concatenating strings, so ID and Type are sent once, with the
// call's first delta, and empty fields are left out.
type ToolCallDelta struct {
	Index           int                   `json:"index"`
	ID              string                `json:"id,omitempty"`
	Type            ToolType              `json:"type,omitempty"`
	CodeInterpreter *CodeInterpreterDelta `json:"code_interpreter,omitempty"`
	FileSearch      *FileSearchCall       `json:"file_search,omitempty"`
	Function        *FunctionDelta        `json:"function,omitempty"`
}

// CodeInterpreterDelta is new code input and new outputs (each with Index).
// Input is always written: the call's first delta carries it empty, as the
// hosted API's did, and the SDKs' accumulators append to it.
type CodeInterpreterDelta struct {
	Input   string                  `json:"input"`
	Outputs []CodeInterpreterOutput `json:"outputs,omitempty"`
}

// FunctionDelta is a function's name (first delta), argument text and output.
// Arguments is always written (empty in the first delta, as on the hosted
// API); Output is omitted until there is one, since accumulators would
// overwrite text with a null.
type FunctionDelta struct {
	Name      string  `json:"name,omitempty"`
	Arguments string  `json:"arguments"`
	Output    *string `json:"output,omitempty"`
}

// Event is one streaming event: Event names it and exactly one of the data
// fields is set, the one that Data returns. The union is closed: these fields
// are every shape the stream carries.
type Event struct {
	Event        EventType          `json:"event"`
	Thread       *Thread            `json:"-"`
	Run          *Run               `json:"-"`
	Step         *RunStep           `json:"-"`
	StepDelta    *RunStepDeltaEvent `json:"-"`
	Message      *Message           `json:"-"`
	MessageDelta *MessageDeltaEvent `json:"-"`
	Error        *Error             `json:"-"`
}

// Data returns the event's payload, the value written as the SSE data line.
func (e Event) Data() any {
	switch {
	case e.Thread != nil:
		return e.Thread
	case e.Run != nil:
		return e.Run
	case e.Step != nil:
		return e.Step
	case e.StepDelta != nil:
		return e.StepDelta
	case e.Message != nil:
		return e.Message
	case e.MessageDelta != nil:
		return e.MessageDelta
	case e.Error != nil:
		return e.Error
	}
	return nil
}
