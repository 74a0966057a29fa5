package authgear

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// maxWebhookBody bounds an Authgear webhook delivery; real ones are a few KiB.
const maxWebhookBody = 64 << 10

// signatureLength is the length of X-Authgear-Body-Signature: a hex SHA-256.
const signatureLength = 2 * sha256.Size

// webhookEvent is the part of Authgear's event envelope that names the user.
type webhookEvent struct {
	Type    string         `json:"type"`
	Payload webhookPayload `json:"payload"`
	Context webhookContext `json:"context"`
}

// webhookPayload holds payload.user of user events.
type webhookPayload struct {
	User webhookUser `json:"user"`
}

// webhookUser holds payload.user.id.
type webhookUser struct {
	ID string `json:"id"`
}

// webhookContext holds context.user_id.
type webhookContext struct {
	UserID string `json:"user_id"`
}

// serveWebhook receives an Authgear webhook delivery: it checks the body's
// signature and evicts every cached answer of the user the event names, in
// every middleware instance that serves the same Authgear app, then relays
// it to webhookPeers (unless it is itself a relay) and answers. Any event
// type counts: a needless eviction costs one resolver call, a missed one a
// stale identity.
func serveWebhook(m *Middleware, rw http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		writeText(rw, http.StatusMethodNotAllowed, "method not allowed: Authgear webhook deliveries are POST")
		return
	}
	// The signature's form first: a post that cannot be a delivery costs no
	// body read.
	signature := req.Header.Get("X-Authgear-Body-Signature")
	if !isHexSignature(signature) {
		refuseWebhook(m, rw)
		return
	}
	if req.ContentLength > maxWebhookBody {
		writeText(rw, http.StatusRequestEntityTooLarge, "webhook body over 64 KiB")
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxWebhookBody+1))
	if err != nil {
		writeText(rw, http.StatusBadRequest, "cannot read the webhook body")
		return
	}
	if len(body) > maxWebhookBody {
		writeText(rw, http.StatusRequestEntityTooLarge, "webhook body over 64 KiB")
		return
	}
	if !validSignature(m.settings.webhookSecret, body, signature) {
		refuseWebhook(m, rw)
		return
	}
	var event webhookEvent
	if err := json.Unmarshal(body, &event); err != nil {
		m.metrics.deliveriesInvalid.Add(1)
		writeText(rw, http.StatusBadRequest, "webhook body is not a JSON event")
		return
	}
	userID := event.Context.UserID
	if userID == "" {
		userID = event.Payload.User.ID
	}
	evicted := 0
	if userID != "" {
		for _, c := range cachesOfApp(m.shared.app) {
			evicted += c.evictUser(userID)
		}
	}
	m.metrics.deliveriesOK.Add(1)
	m.metrics.evictedByWebhook.Add(int64(evicted))
	answer := "ok: " + strconv.Itoa(evicted) + " cached answers evicted"
	if len(m.settings.webhookPeers) > 0 && req.Header.Get(relayHeader) == "" {
		ok, tried := relayDelivery(m, req, body)
		m.metrics.relaysOK.Add(int64(ok))
		m.metrics.relaysFailed.Add(int64(tried - ok))
		answer += "; relayed to " + strconv.Itoa(ok) + " of " + strconv.Itoa(tried) + " peers"
	}
	writeText(rw, http.StatusOK, answer)
}

// refuseWebhook answers a post without a valid signature.
func refuseWebhook(m *Middleware, rw http.ResponseWriter) {
	m.metrics.deliveriesRefused.Add(1)
	m.shared.logWebhook("webhook delivery with a missing or wrong X-Authgear-Body-Signature refused: check webhookSecret")
	writeText(rw, http.StatusUnauthorized, "invalid webhook signature")
}

// isHexSignature reports whether s has the form of a signature: 64
// lowercase hex digits.
func isHexSignature(s string) bool {
	if len(s) != signatureLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validSignature reports whether signature is the lowercase hex HMAC-SHA256
// of body under secret, compared in constant time.
func validSignature(secret, body []byte, signature string) bool {
	mac := hmac.New(sha256.New, secret)
	_, _ = mac.Write(body)
	expected := hex.EncodeToString(mac.Sum(nil))
	return subtle.ConstantTimeCompare([]byte(expected), []byte(signature)) == 1
}
