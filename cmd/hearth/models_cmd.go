package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/hearthlink/hearth/models"
)

// modelsCmd lists and writes the project's generated models.
func modelsCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: hearth models list | hearth models generate [-out DIR] [all | NAME...]")
	}
	switch args[0] {
	case "list":
		for _, r := range models.Recipes() {
			def := ""
			if r.Default {
				def = " (default)"
			}
			fmt.Printf("%-20s %-5s %s%s\n", r.Name, r.Format, r.Description, def)
		}
		return nil
	case "generate":
		fs := flag.NewFlagSet("models generate", flag.ContinueOnError)
		out := fs.String("out", "", "folder to write models to (default: the hearth cache)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		names := fs.Args()
		if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
			all := len(names) == 1
			names = names[:0]
			for _, r := range models.Recipes() {
				if r.Default || all {
					names = append(names, r.Name)
				}
			}
		}
		for _, name := range names {
			start := time.Now()
			path, err := models.Ensure(ctx, *out, name)
			if err != nil {
				return err
			}
			fmt.Printf("%s\t%s\t%s\n", name, path, time.Since(start).Round(time.Millisecond))
		}
		return nil
	default:
		return fmt.Errorf("unknown models command %q", args[0])
	}
}
