//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/traefik-authgear/traefik-authgear/harness/internal/echo"
)

// TestWebSocket: an upgrade passes with the user's identity and messages flow
// both ways; under requireSession, without a session it is refused (401).
func TestWebSocket(t *testing.T) {
	s := mainStack(t)
	for _, tc := range []struct {
		name, path string
		header     http.Header
		userID     string // the X-Authgear-User-Id the backend saw; "refused": 401
	}{
		{"cookie", "", http.Header{"Cookie": {"session=alice-session"}}, users["alice"].ID},
		{"bearer", "", http.Header{"Authorization": {"Bearer alice-token"}}, users["alice"].ID},
		{"anonymous, forged id", "", http.Header{"X-Authgear-User-Id": {"forged"}}, ""},
		{"refused without session", "/require", nil, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ws, resp, err := websocket.Dial(ctx, "ws://"+s.Traefik.EntryAddr+tc.path+echo.PathWebSocket, &websocket.DialOptions{HTTPHeader: tc.header})
			if tc.userID == "refused" {
				if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("upgrade without session: %v, want a 401 refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			if got := resp.Header.Get("X-Echo-User-Id"); got != tc.userID {
				t.Errorf("backend saw X-Authgear-User-Id %q, want %q", got, tc.userID)
			}
			for i := 0; i < 3; i++ {
				msg := fmt.Sprintf("hello %d", i)
				if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					t.Fatal(err)
				}
				if _, got, err := ws.Read(ctx); err != nil || string(got) != msg {
					t.Fatalf("echo of %q: %q, %v", msg, got, err)
				}
			}
		})
	}
}

// TestServerSentEvents: a stream passes event by event, not buffered.
func TestServerSentEvents(t *testing.T) {
	s := mainStack(t)
	req, _ := http.NewRequest(http.MethodGet, s.URL("/sse?count=5&interval=100ms"), nil)
	req.Header.Set("Authorization", "Bearer bob-token")
	req.Header.Set("Accept", "text/event-stream")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var events []string
	var times []time.Duration
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, data)
			times = append(times, time.Since(start))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"user=" + users["bob"].ID, "1", "2", "3", "4", "5"}
	if strings.Join(events, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q, want %q", events, want)
	}
	if spread := times[len(times)-1] - times[0]; spread < 300*time.Millisecond {
		t.Errorf("events arrived within %s of each other (%v): the stream was buffered", spread, times)
	}
}
