package api_test

import (
	"database/sql"
	"net/http"

	ws "github.com/wsloop/wsloop/api"
)

// Handlers that block: every text is stored in a database before it is acknowledged. The
// handlers run on the executor's workers, so a slow query holds back only its own connection.
func ExampleNewExecutor() {
	var db *sql.DB // opened elsewhere
	server := ws.CreateServer(&ws.ServerOptions{Executor: ws.NewExecutor(64, 0)}, nil)
	server.OnText(func(c *ws.Conn, text string) {
		if _, err := db.Exec("INSERT INTO messages(body) VALUES (?)", text); err != nil {
			c.Close(1011, "storage failed")
			return
		}
		c.SendText("stored", nil)
	})
}

// A handshake checked by another service: the hook returns at once and replies when the answer
// comes, while the loop serves its other connections.
func ExampleServerOptions_handshakeLater() {
	checkToken := func(token string, done func(ok bool)) { go done(token != "") } // a remote call
	ws.CreateServer(&ws.ServerOptions{
		HandshakeLater: func(c *ws.Conn, reply func(http.Header, error)) {
			checkToken(c.Headers().Get("Authorization"), func(ok bool) {
				if !ok {
					reply(nil, &ws.HTTPError{Status: http.StatusUnauthorized, Body: "unauthorized\n"})
					return
				}
				reply(nil, nil)
			})
		},
	}, nil)
}
