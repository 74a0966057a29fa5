package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/stack"
	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// benchSession is the session cookie value every credentialed row sends: a
// user of testdata/users.json with a full identity (roles, amr, ...).
const benchSession = "alice-session"

// burstSlots is how many fresh credentials the burst measurements may use:
// sessions 0 to burstSlots-1; the memory figure uses the ones after them.
const burstSlots = 32

// memWarm is how many distinct sessions warm the memory Traefik up before
// its baseline is taken.
const memWarm = 2000

// session is the i-th generated session; every one belongs to a user of its
// own (userID(i)), as sessions in production mostly do.
func session(i int) string { return fmt.Sprintf("gen-session-%07d", i) }

// userID is the user id of session(i).
func userID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// usersInfo is what the benchmark needs to know of the users file.
type usersInfo struct {
	path        string // the file
	benchUserID string // user id of benchSession
}

// usersFile writes the stand-in's users file into dir: the users of
// testdata/users.json (stack.Users), and n users like benchSession's with
// one generated session each.
func usersFile(dir string, n int) (usersInfo, error) {
	cfg, err := stack.Users()
	if err != nil {
		return usersInfo{}, err
	}
	i := slices.IndexFunc(cfg.Users, func(u standin.User) bool { return slices.Contains(u.Sessions, benchSession) })
	if i < 0 {
		return usersInfo{}, fmt.Errorf("testdata/users.json has no user with session %q", benchSession)
	}
	model := cfg.Users[i]
	for i := range n {
		u := model
		u.ID, u.Email, u.Sessions = userID(i), "", []string{session(i)}
		u.AppSessions, u.AppAccessTokens, u.BearerTokens = nil, nil, nil
		cfg.Users = append(cfg.Users, u)
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return usersInfo{}, err
	}
	info := usersInfo{path: filepath.Join(dir, "users.json"), benchUserID: model.ID}
	return info, os.WriteFile(info.path, data, 0o644)
}
