// Command hfgen generates the hfmodels recipes named on its command line (all when none) and prints each
// GGUF's path, one a line, for shells and scripts (a benchmark, a manual test against a server):
//
//	go run ./models/hfmodels/hfgen [-dir DIR] tiny-olmo3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hearthlink/hearth/models/hfmodels"
)

func main() {
	dir := flag.String("dir", "", "folder for the GGUF files (default: the hearth cache's models folder)")
	flag.Parse()
	names := flag.Args()
	if len(names) == 0 {
		names = hfmodels.Names()
	}
	for _, name := range names {
		path, err := hfmodels.Ensure(context.Background(), *dir, name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(path)
	}
}
