package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version is set at build time: -ldflags "-X main.Version=v1.2.3".
var Version = "dev"

func version() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs, _ := newFlags("version", stderr)
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hoard %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
