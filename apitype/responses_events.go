package apitype

import (
	"encoding/json"
	"fmt"
)

// ResponseEventType names a Responses streaming event; it is both the SSE
// "event:" line and the data's "type".
type ResponseEventType string

// Responses streaming events, exactly as on the wire.
const (
	EventResponseCreated             ResponseEventType = "response.created"
	EventResponseQueued              ResponseEventType = "response.queued"
	EventResponseInProgress          ResponseEventType = "response.in_progress"
	EventResponseCompleted           ResponseEventType = "response.completed"
	EventResponseFailed              ResponseEventType = "response.failed"
	EventResponseIncomplete          ResponseEventType = "response.incomplete"
	EventOutputItemAdded             ResponseEventType = "response.output_item.added"
	EventOutputItemDone              ResponseEventType = "response.output_item.done"
	EventContentPartAdded            ResponseEventType = "response.content_part.added"
	EventContentPartDone             ResponseEventType = "response.content_part.done"
	EventOutputTextDelta             ResponseEventType = "response.output_text.delta"
	EventOutputTextDone              ResponseEventType = "response.output_text.done"
	EventOutputTextAnnotationAdded   ResponseEventType = "response.output_text.annotation.added"
	EventRefusalDelta                ResponseEventType = "response.refusal.delta"
	EventRefusalDone                 ResponseEventType = "response.refusal.done"
	EventFunctionCallArgumentsDelta  ResponseEventType = "response.function_call_arguments.delta"
	EventFunctionCallArgumentsDone   ResponseEventType = "response.function_call_arguments.done"
	EventReasoningTextDelta          ResponseEventType = "response.reasoning_text.delta"
	EventReasoningTextDone           ResponseEventType = "response.reasoning_text.done"
	EventReasoningSummaryPartAdded   ResponseEventType = "response.reasoning_summary_part.added"
	EventReasoningSummaryPartDone    ResponseEventType = "response.reasoning_summary_part.done"
	EventReasoningSummaryTextDelta   ResponseEventType = "response.reasoning_summary_text.delta"
	EventReasoningSummaryTextDone    ResponseEventType = "response.reasoning_summary_text.done"
	EventFileSearchCallInProgress    ResponseEventType = "response.file_search_call.in_progress"
	EventFileSearchCallSearching     ResponseEventType = "response.file_search_call.searching"
	EventFileSearchCallCompleted     ResponseEventType = "response.file_search_call.completed"
	EventCodeInterpreterInProgress   ResponseEventType = "response.code_interpreter_call.in_progress"
	EventCodeInterpreterInterpreting ResponseEventType = "response.code_interpreter_call.interpreting"
	EventCodeInterpreterCompleted    ResponseEventType = "response.code_interpreter_call.completed"
	EventCodeInterpreterCodeDelta    ResponseEventType = "response.code_interpreter_call_code.delta"
	EventCodeInterpreterCodeDone     ResponseEventType = "response.code_interpreter_call_code.done"
	EventResponseError               ResponseEventType = "error"
)

// ResponseEventFor returns the event announcing a response that entered
// status s (created is announced separately, before it). The API has no
// response.cancelled event, and the SDKs' stream helpers refuse events they
// do not know: a cancelled response ends its stream with response.failed,
// whose response says status "cancelled" (and has no error).
func ResponseEventFor(s ResponseStatus) ResponseEventType {
	if s == ResponseCancelled {
		return EventResponseFailed
	}
	return ResponseEventType("response." + string(s))
}

// ResponseStreamEvent is one event of a Responses stream. It is a flat
// union, as openai-go's is: Type says which fields are used, AsAny returns
// the event as its own type, and MarshalJSON writes exactly that type's
// fields. SequenceNumber counts the events of a response from 0.
type ResponseStreamEvent struct {
	Type           ResponseEventType
	SequenceNumber int

	// Response is set on response.created / queued / in_progress /
	// completed / failed / incomplete.
	Response *Response

	OutputIndex  int
	ContentIndex int
	SummaryIndex int
	ItemID       string
	// Item is set on output_item.added / done.
	Item *Item
	// Part is set on content_part.added / done and reasoning_summary_part.*.
	Part *ContentPart

	// Delta is the new text of every *.delta event.
	Delta string
	// Text is the whole text of output_text.done, reasoning_text.done and
	// reasoning_summary_text.done.
	Text      string
	Arguments string
	Refusal   string
	Code      string

	Annotation      *OutputAnnotation
	AnnotationIndex int

	// ErrorCode, Message and Param are the error event's.
	ErrorCode *string
	Message   string
	Param     *string
}

// The events as their own types, which AsAny returns.
type (
	// ResponseLifecycleEvent is response.created / queued / in_progress /
	// completed / failed / incomplete.
	ResponseLifecycleEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		Response       *Response         `json:"response"`
	}
	// OutputItemEvent is response.output_item.added / done.
	OutputItemEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		OutputIndex    int               `json:"output_index"`
		Item           *Item             `json:"item"`
	}
	// ContentPartEvent is response.content_part.added / done.
	ContentPartEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		ContentIndex   int               `json:"content_index"`
		Part           *ContentPart      `json:"part"`
	}
	// OutputTextDeltaEvent is response.output_text.delta.
	OutputTextDeltaEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		ContentIndex   int               `json:"content_index"`
		Delta          string            `json:"delta"`
		Logprobs       []Logprob         `json:"logprobs"`
	}
	// OutputTextDoneEvent is response.output_text.done.
	OutputTextDoneEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		ContentIndex   int               `json:"content_index"`
		Text           string            `json:"text"`
		Logprobs       []Logprob         `json:"logprobs"`
	}
	// OutputTextAnnotationEvent is response.output_text.annotation.added.
	OutputTextAnnotationEvent struct {
		Type            ResponseEventType `json:"type"`
		SequenceNumber  int               `json:"sequence_number"`
		ItemID          string            `json:"item_id"`
		OutputIndex     int               `json:"output_index"`
		ContentIndex    int               `json:"content_index"`
		AnnotationIndex int               `json:"annotation_index"`
		Annotation      *OutputAnnotation `json:"annotation"`
	}
	// RefusalDeltaEvent is response.refusal.delta.
	RefusalDeltaEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		ContentIndex   int               `json:"content_index"`
		Delta          string            `json:"delta"`
	}
	// RefusalDoneEvent is response.refusal.done.
	RefusalDoneEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		ContentIndex   int               `json:"content_index"`
		Refusal        string            `json:"refusal"`
	}
	// ArgumentsDeltaEvent is response.function_call_arguments.delta and
	// response.code_interpreter_call_code.delta.
	ArgumentsDeltaEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		Delta          string            `json:"delta"`
	}
	// FunctionCallArgumentsDoneEvent is response.function_call_arguments.done.
	FunctionCallArgumentsDoneEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		Arguments      string            `json:"arguments"`
	}
	// CodeDoneEvent is response.code_interpreter_call_code.done.
	CodeDoneEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		Code           string            `json:"code"`
	}
	// ToolCallProgressEvent is response.file_search_call.* and
	// response.code_interpreter_call.* (in_progress, searching /
	// interpreting, completed).
	ToolCallProgressEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
	}
	// ReasoningTextDeltaEvent is response.reasoning_text.delta.
	ReasoningTextDeltaEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		ContentIndex   int               `json:"content_index"`
		Delta          string            `json:"delta"`
	}
	// ReasoningTextDoneEvent is response.reasoning_text.done.
	ReasoningTextDoneEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		ContentIndex   int               `json:"content_index"`
		Text           string            `json:"text"`
	}
	// ReasoningSummaryPartEvent is response.reasoning_summary_part.added / done.
	ReasoningSummaryPartEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		SummaryIndex   int               `json:"summary_index"`
		Part           *ContentPart      `json:"part"`
	}
	// ReasoningSummaryTextDeltaEvent is response.reasoning_summary_text.delta.
	ReasoningSummaryTextDeltaEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		SummaryIndex   int               `json:"summary_index"`
		Delta          string            `json:"delta"`
	}
	// ReasoningSummaryTextDoneEvent is response.reasoning_summary_text.done.
	ReasoningSummaryTextDoneEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		ItemID         string            `json:"item_id"`
		OutputIndex    int               `json:"output_index"`
		SummaryIndex   int               `json:"summary_index"`
		Text           string            `json:"text"`
	}
	// ErrorEvent is the stream's error event.
	ErrorEvent struct {
		Type           ResponseEventType `json:"type"`
		SequenceNumber int               `json:"sequence_number"`
		Code           *string           `json:"code"`
		Message        string            `json:"message"`
		Param          *string           `json:"param"`
	}
)

// AsAny returns the event as its own type (a *ResponseLifecycleEvent,
// *OutputTextDeltaEvent, …), or nil for an unknown Type.
func (e ResponseStreamEvent) AsAny() any {
	t, seq := e.Type, e.SequenceNumber
	logprobs := []Logprob{}
	switch t {
	case EventResponseCreated, EventResponseQueued, EventResponseInProgress, EventResponseCompleted, EventResponseFailed, EventResponseIncomplete:
		return &ResponseLifecycleEvent{t, seq, e.Response}
	case EventOutputItemAdded, EventOutputItemDone:
		return &OutputItemEvent{t, seq, e.OutputIndex, e.Item}
	case EventContentPartAdded, EventContentPartDone:
		return &ContentPartEvent{t, seq, e.ItemID, e.OutputIndex, e.ContentIndex, e.Part}
	case EventOutputTextDelta:
		return &OutputTextDeltaEvent{t, seq, e.ItemID, e.OutputIndex, e.ContentIndex, e.Delta, logprobs}
	case EventOutputTextDone:
		return &OutputTextDoneEvent{t, seq, e.ItemID, e.OutputIndex, e.ContentIndex, e.Text, logprobs}
	case EventOutputTextAnnotationAdded:
		return &OutputTextAnnotationEvent{t, seq, e.ItemID, e.OutputIndex, e.ContentIndex, e.AnnotationIndex, e.Annotation}
	case EventRefusalDelta:
		return &RefusalDeltaEvent{t, seq, e.ItemID, e.OutputIndex, e.ContentIndex, e.Delta}
	case EventRefusalDone:
		return &RefusalDoneEvent{t, seq, e.ItemID, e.OutputIndex, e.ContentIndex, e.Refusal}
	case EventFunctionCallArgumentsDelta, EventCodeInterpreterCodeDelta:
		return &ArgumentsDeltaEvent{t, seq, e.ItemID, e.OutputIndex, e.Delta}
	case EventFunctionCallArgumentsDone:
		return &FunctionCallArgumentsDoneEvent{t, seq, e.ItemID, e.OutputIndex, e.Arguments}
	case EventCodeInterpreterCodeDone:
		return &CodeDoneEvent{t, seq, e.ItemID, e.OutputIndex, e.Code}
	case EventFileSearchCallInProgress, EventFileSearchCallSearching, EventFileSearchCallCompleted,
		EventCodeInterpreterInProgress, EventCodeInterpreterInterpreting, EventCodeInterpreterCompleted:
		return &ToolCallProgressEvent{t, seq, e.ItemID, e.OutputIndex}
	case EventReasoningTextDelta:
		return &ReasoningTextDeltaEvent{t, seq, e.ItemID, e.OutputIndex, e.ContentIndex, e.Delta}
	case EventReasoningTextDone:
		return &ReasoningTextDoneEvent{t, seq, e.ItemID, e.OutputIndex, e.ContentIndex, e.Text}
	case EventReasoningSummaryPartAdded, EventReasoningSummaryPartDone:
		return &ReasoningSummaryPartEvent{t, seq, e.ItemID, e.OutputIndex, e.SummaryIndex, e.Part}
	case EventReasoningSummaryTextDelta:
		return &ReasoningSummaryTextDeltaEvent{t, seq, e.ItemID, e.OutputIndex, e.SummaryIndex, e.Delta}
	case EventReasoningSummaryTextDone:
		return &ReasoningSummaryTextDoneEvent{t, seq, e.ItemID, e.OutputIndex, e.SummaryIndex, e.Text}
	case EventResponseError:
		return &ErrorEvent{t, seq, e.ErrorCode, e.Message, e.Param}
	}
	return nil
}

// MarshalJSON writes the event's own fields (the SSE data line).
func (e ResponseStreamEvent) MarshalJSON() ([]byte, error) {
	v := e.AsAny()
	if v == nil {
		return nil, fmt.Errorf("apitype: unknown response event type %q", e.Type)
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads any of the events above, so clients and replay can
// read a stream back.
func (e *ResponseStreamEvent) UnmarshalJSON(b []byte) error {
	var w struct {
		Type            ResponseEventType `json:"type"`
		SequenceNumber  int               `json:"sequence_number"`
		Response        *Response         `json:"response"`
		OutputIndex     int               `json:"output_index"`
		ContentIndex    int               `json:"content_index"`
		SummaryIndex    int               `json:"summary_index"`
		ItemID          string            `json:"item_id"`
		Item            *Item             `json:"item"`
		Part            *ContentPart      `json:"part"`
		Delta           string            `json:"delta"`
		Text            string            `json:"text"`
		Arguments       string            `json:"arguments"`
		Refusal         string            `json:"refusal"`
		Code            json.RawMessage   `json:"code"`
		Annotation      *OutputAnnotation `json:"annotation"`
		AnnotationIndex int               `json:"annotation_index"`
		Message         string            `json:"message"`
		Param           *string           `json:"param"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	ev := ResponseStreamEvent{Type: w.Type, SequenceNumber: w.SequenceNumber, Response: w.Response, OutputIndex: w.OutputIndex,
		ContentIndex: w.ContentIndex, SummaryIndex: w.SummaryIndex, ItemID: w.ItemID, Item: w.Item, Part: w.Part, Delta: w.Delta,
		Text: w.Text, Arguments: w.Arguments, Refusal: w.Refusal, Annotation: w.Annotation, AnnotationIndex: w.AnnotationIndex,
		Message: w.Message, Param: w.Param}
	if ev.AsAny() == nil {
		return fmt.Errorf("apitype: unknown response event type %q", w.Type)
	}
	// "code" is the code interpreter's code, or the error event's code (a
	// string or null).
	if len(w.Code) > 0 && !isNull(w.Code) {
		var s string
		if err := json.Unmarshal(w.Code, &s); err != nil {
			return err
		}
		if ev.Type == EventResponseError {
			ev.ErrorCode = &s
		} else {
			ev.Code = s
		}
	}
	*e = ev
	return nil
}

// ErrorResponseEvent returns the stream's error event for err.
func ErrorResponseEvent(err *Error) ResponseStreamEvent {
	e := ResponseStreamEvent{Type: EventResponseError, Message: err.Message}
	if err.Code != "" {
		e.ErrorCode = &err.Code
	} else if err.Type != "" {
		c := string(err.Type)
		e.ErrorCode = &c
	}
	if err.Param != "" {
		e.Param = &err.Param
	}
	return e
}
