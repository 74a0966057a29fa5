package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// nginxBin is the nginx executable; /usr/sbin is not on every PATH.
var nginxBin = "nginx"

// findTools looks for wrk and nginx and returns the Debian packages of
// those missing.
func findTools() (missing []string) {
	if _, err := exec.LookPath("wrk"); err != nil {
		missing = append(missing, "wrk")
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		nginxBin = p
	} else if st, err := os.Stat("/usr/sbin/nginx"); err == nil && !st.IsDir() {
		nginxBin = "/usr/sbin/nginx"
	} else {
		missing = append(missing, "nginx-light")
	}
	return missing
}

// ensureTools installs wrk and nginx with apt-get (with sudo when not
// root) when they are missing: Debian's nginx-light, or nginx where
// nginx-light is gone (Debian 13). Then it checks that nginx has the
// auth_request module.
func ensureTools(ctx context.Context, log io.Writer) error {
	if missing := findTools(); len(missing) > 0 {
		var sudo []string
		if os.Geteuid() != 0 {
			sudo = []string{"sudo", "-E"}
		}
		apt := func(args ...string) error {
			full := append(append(sudo, "apt-get"), args...)
			fmt.Fprintf(log, "bench: %s\n", strings.Join(full, " "))
			cmd := exec.CommandContext(ctx, full[0], full[1:]...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			cmd.Stdout, cmd.Stderr = log, log
			return cmd.Run()
		}
		err := apt("update", "-qq")
		if err == nil && apt(append([]string{"install", "-y", "-qq"}, missing...)...) != nil {
			alt := strings.Fields(strings.ReplaceAll(strings.Join(missing, " "), "nginx-light", "nginx"))
			err = apt(append([]string{"install", "-y", "-qq"}, alt...)...)
		}
		if missing = findTools(); err != nil || len(missing) > 0 {
			return fmt.Errorf("%s missing, and apt-get could not install them (%v): install them and run again", strings.Join(missing, " and "), err)
		}
	}
	if out := commandOutput(ctx, nginxBin, "-V"); !strings.Contains(out, "http_auth_request_module") {
		return fmt.Errorf("%s has no auth_request module (nginx -V: %s)", nginxBin, firstLine(out))
	}
	return nil
}
