package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/standin"
)

// benchSession is the session cookie value every credentialed row sends: a
// user of testdata/users.json with a full identity (roles, amr, ...).
const benchSession = "alice-session"

// burstSlots is how many fresh credentials the burst measurements may use.
const burstSlots = 32

// memWarm is how many distinct sessions warm the memory Traefik up before
// its baseline is taken.
const memWarm = 2000

// burstSession is the i-th fresh session for the burst.
func burstSession(i int) string { return fmt.Sprintf("burst-%d", i) }

// burstUserID is the user id of burstSession(i).
func burstUserID(i int) string { return fmt.Sprintf("b0000000-0000-4000-8000-%012d", i) }

// memSession is the i-th session of the memory measurement; every one
// belongs to a user of its own, as sessions in production mostly do.
func memSession(i int) string { return fmt.Sprintf("mem-session-%07d", i) }

// usersInfo is what the benchmark needs to know of the users file.
type usersInfo struct {
	path        string // the file
	benchUserID string // user id of benchSession
	publicHost  string // the Authgear app's public host
}

// usersFile writes the stand-in's users file into dir: the users of
// testdata/users.json, one user per burst session and memUsers users with one
// session each.
func usersFile(root, dir string, memUsers int) (usersInfo, error) {
	cfg, err := standin.LoadConfig(filepath.Join(root, "testdata", "users.json"))
	if err != nil {
		return usersInfo{}, err
	}
	var model standin.User
	for _, u := range cfg.Users {
		for _, s := range u.Sessions {
			if s == benchSession {
				model = u
			}
		}
	}
	if model.ID == "" {
		return usersInfo{}, fmt.Errorf("testdata/users.json has no user with session %q", benchSession)
	}
	add := func(id, session string) {
		u := model
		u.ID, u.Email = id, ""
		u.Sessions = []string{session}
		u.AppSessions, u.AppAccessTokens, u.BearerTokens = nil, nil, nil
		cfg.Users = append(cfg.Users, u)
	}
	for i := 0; i < burstSlots; i++ {
		add(burstUserID(i), burstSession(i))
	}
	for i := 0; i < memUsers; i++ {
		add(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), memSession(i))
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return usersInfo{}, err
	}
	info := usersInfo{path: filepath.Join(dir, "users.json"), benchUserID: model.ID, publicHost: cfg.PublicHost}
	return info, os.WriteFile(info.path, data, 0o644)
}
