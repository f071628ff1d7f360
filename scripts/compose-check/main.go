// Loads a Compose file with the Compose Specification's reference loader (the library `docker compose`
// itself uses), resolving .env and interpolation, and prints the normalised project as JSON; exits 1 with
// the loader's message when the file is invalid.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE [ENV_FILE]")
		os.Exit(2)
	}
	opts := []cli.ProjectOptionsFn{cli.WithName("mlr-copilot"), cli.WithOsEnv}
	if len(os.Args) > 2 {
		opts = append(opts, cli.WithEnvFiles(os.Args[2]), cli.WithDotEnv)
	}
	// COMPOSE_PROFILES selects profiles, as with `docker compose`.
	opts = append(opts, cli.WithDefaultProfiles())
	po, err := cli.NewProjectOptions([]string{os.Args[1]}, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := po.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
