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

// ensureTools installs wrk and nginx with apt-get when they are missing
// (Debian packages wrk and nginx-light, or nginx where nginx-light is gone),
// and checks that nginx has the auth_request module.
func ensureTools(ctx context.Context, log io.Writer) error {
	findNginx := func() bool {
		if p, err := exec.LookPath("nginx"); err == nil {
			nginxBin = p
			return true
		}
		if st, err := os.Stat("/usr/sbin/nginx"); err == nil && !st.IsDir() {
			nginxBin = "/usr/sbin/nginx"
			return true
		}
		return false
	}
	_, wrkErr := exec.LookPath("wrk")
	var missing []string
	if wrkErr != nil {
		missing = append(missing, "wrk")
	}
	if !findNginx() {
		missing = append(missing, "nginx-light")
	}
	if len(missing) > 0 {
		if err := aptInstall(ctx, log, missing); err != nil {
			return err
		}
		if _, err := exec.LookPath("wrk"); err != nil {
			return fmt.Errorf("wrk is still missing after apt-get install")
		}
		if !findNginx() {
			return fmt.Errorf("nginx is still missing after apt-get install")
		}
	}
	if out := commandOutput(ctx, nginxBin, "-V"); !strings.Contains(out, "http_auth_request_module") {
		return fmt.Errorf("%s has no auth_request module (nginx -V: %s)", nginxBin, firstLine(out))
	}
	return nil
}

// aptInstall installs Debian packages, with sudo when not root; when
// nginx-light is not in the archive (Debian 13 dropped it), nginx instead.
func aptInstall(ctx context.Context, log io.Writer, pkgs []string) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("%s missing and no apt-get to install them: install them and run again", strings.Join(pkgs, " and "))
	}
	var prefix []string
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return fmt.Errorf("%s missing: run `apt-get install -y %s` as root", strings.Join(pkgs, " and "), strings.Join(pkgs, " "))
		}
		prefix = []string{"sudo", "-E"}
	}
	apt := func(args ...string) error {
		full := append(append(append([]string(nil), prefix...), "apt-get"), args...)
		fmt.Fprintf(log, "bench: %s\n", strings.Join(full, " "))
		cmd := exec.CommandContext(ctx, full[0], full[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		return cmd.Run()
	}
	if err := apt("update", "-qq"); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if err := apt(append([]string{"install", "-y", "-qq"}, pkgs...)...); err == nil {
		return nil
	}
	for i, p := range pkgs {
		if p == "nginx-light" {
			pkgs[i] = "nginx"
		}
	}
	if err := apt(append([]string{"install", "-y", "-qq"}, pkgs...)...); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(pkgs, " "), err)
	}
	return nil
}
