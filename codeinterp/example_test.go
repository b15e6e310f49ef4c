package codeinterp_test

import (
	"fmt"

	"github.com/hearth-go/hearth/codeinterp"
)

// What a model reads back from an exec: stdout, stderr, then the error, each
// ending in a newline.
func ExampleResult_Logs() {
	r := &codeinterp.Result{
		Stdout: "[1]",
		Error:  "Traceback (most recent call last):\nZeroDivisionError: division by zero\n",
		Files:  []codeinterp.OutputFile{{Path: "/mnt/data/solution.txt", Size: 3, MIMEType: "text/plain; charset=utf-8"}},
	}
	fmt.Print(r.Logs())
	fmt.Println(r.Files[0])
	// Output:
	// [1]
	// Traceback (most recent call last):
	// ZeroDivisionError: division by zero
	// /mnt/data/solution.txt (3 bytes, text/plain; charset=utf-8)
}
