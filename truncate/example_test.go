package truncate_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/hearth-go/hearth/truncate"
)

// Fit a thread to a small context: the newest messages stay whole, older
// ones are dropped, and the result says how many.
func ExampleFit() {
	thread := []truncate.Item{
		{ID: "1", Role: "user", Text: "Tell me about the history of the bicycle in great detail, please."},
		{ID: "2", Role: "assistant", Text: "The first bicycles, draisines, appeared in 1817 in Mannheim..."},
		{ID: "3", Role: "user", Text: "And the chain drive?"},
		{ID: "4", Role: "assistant", Text: "The safety bicycle of 1885 introduced the chain drive."},
		{ID: "5", Role: "user", Text: "Thanks! Who invented pneumatic tyres?"},
	}
	newestFirst := func(yield func(truncate.Item, error) bool) {
		for _, it := range slices.Backward(thread) {
			if !yield(it, nil) {
				return
			}
		}
	}
	r, err := truncate.Fit(context.Background(), newestFirst, truncate.Budget{ContextWindow: 60}, truncate.Strategy{})
	if err != nil {
		panic(err)
	}
	for _, it := range r.Kept {
		fmt.Println(it.ID, it.Role)
	}
	fmt.Println("dropped", r.Dropped)
	// Output:
	// 2 assistant
	// 3 user
	// 4 assistant
	// 5 user
	// dropped 1
}
