// Command atelier is the single binary: `serve`, `worker`, `migrate up|status`, `tenant create`.
package main

import (
	"os"

	"github.com/atelier-hq/atelier/app"
)

func main() { os.Exit(app.Execute()) }
