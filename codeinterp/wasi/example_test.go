package wasi_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/hearth-go/hearth/codeinterp/wasi"
)

// A thread's code interpreter: mount a file, run model-written code, read
// back what it printed and the files it wrote.
func ExampleNew() {
	cache, _ := os.UserCacheDir()
	sb, err := wasi.New(wasi.Config{CacheDir: filepath.Join(cache, "hearth", "codeinterp")})
	if err != nil {
		log.Fatal(err) // errors.Is(err, codeinterp.ErrUnavailable)
	}
	defer sb.Close()

	ctx := context.Background()
	sess, err := sb.Session(ctx, "thread_abc123")
	if err != nil {
		log.Fatal(err)
	}
	if err := sess.WriteFile("data.csv", []byte("x\n1\n2\n")); err != nil {
		log.Fatal(err)
	}
	res, err := sess.Exec(ctx, `
import csv
rows = list(csv.DictReader(open('/mnt/data/data.csv')))
from sympy import symbols, solve
x = symbols('x')
print(len(rows), solve(3*x + 11 - 14, x))
open('/mnt/data/out.txt', 'w').write('done')`)
	if err != nil {
		log.Fatal(err) // the sandbox failed; Python errors are in res.Error
	}
	fmt.Print(res.Logs())
	for _, f := range res.Files {
		fmt.Println(f.Path, f.Size, f.IsImage)
	}
}
