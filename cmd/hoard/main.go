// Command hoard is the Hoard daemon and its command-line client: one
// namespace served as a FUSE mount and an S3 gateway, cached on local disk
// and persisted to an object store.
//
// This package holds flags, configuration and wiring only; every rule about
// files lives in package store.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a command-line mistake: the usage is printed, exit code 2.
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"start", "run Hoard: FUSE mount, S3 gateway, web server [--conf FILE] [--daemon]", cmdStart},
		{"stop", "stop a running daemon [--conf FILE]", cmdStop},
		{"format", "wipe metadata and cache (never the UFS); refused while a daemon runs [--conf FILE]", cmdFormat},
		{"fs", "file system commands through the running daemon (ls, mount, load, ...); `hoard fs` lists them", cmdFs},
		{"runTests", "Alluxio's basic tests for every read/write type pair [--directory DIR]", cmdRunTests},
		{"version", "print version and build information", cmdVersion},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "hoard %s: %v\n", c.name, err)
			return 2
		}
		fmt.Fprintf(stderr, "hoard %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "hoard: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hoard COMMAND [options]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --conf FILE (or $HOARD_CONF); see conf/hoard-site.properties.template.")
}

// newFlags makes a flag set that reports errors instead of exiting, with
// the --conf flag every command takes.
func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("hoard "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("conf", "", "configuration file (default $HOARD_CONF, else conf/hoard-site.properties)")
	return fs, conf
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// parseOnlyFlags is parseFlags for a command that takes no positional
// argument: one given is a usage error, before anything is done (`hoard
// format /some/dir` must not wipe the configured dirs instead).
func parseOnlyFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	return nil
}
