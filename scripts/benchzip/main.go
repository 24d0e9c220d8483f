// Command benchzip zips every regular file of a directory the way the download worker does:
// files opened one at a time and streamed through downloads.Archive (stored, not deflated) into
// a downloads.LocalStorage temporary file, fsynced and renamed on Commit. scripts/bench-zip.sh
// times it against `zip -0 -r` on the same files.
//
//	go run ./scripts/benchzip SRC_DIR OUT_DIR
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/downloads"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchzip SRC_DIR OUT_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		slog.Error("benchzip", slog.Any("error", err))
		os.Exit(1)
	}
}

func run(src, out string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	st, err := downloads.NewLocalStorage(out)
	if err != nil {
		return err
	}
	tenant, id := uuid.New(), uuid.New()
	tmp, err := st.Create(context.Background(), tenant, id)
	if err != nil {
		return err
	}
	defer tmp.Abort()
	a := downloads.NewArchive(tmp)
	for _, n := range names {
		if err := add(a, filepath.Join(src, n), n); err != nil {
			return err
		}
	}
	size, sum, err := a.Close()
	if err != nil {
		return err
	}
	if err := tmp.Commit(); err != nil {
		return err
	}
	fmt.Printf("%s %d files %d bytes sha256 %s\n", filepath.Join(out, tenant.String(), id.String()+".zip"), len(names), size, sum)
	return nil
}

func add(a *downloads.Archive, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = a.Add(name, info.ModTime(), f)
	return err
}
