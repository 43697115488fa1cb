package email_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/email"
)

// Replies of rawSMTP's reply function that are not SMTP replies.
const (
	hang = "" // leave the command unanswered: a hung server
	drop = "drop"
)

// rawSMTP is a plain SMTP server that answers each command (and, as
// "DATA-END", the end of a message) with reply(command). Every command
// is sent on the returned channel before it is answered.
func rawSMTP(t *testing.T, reply func(cmd string) string) (port int, seen <-chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cmds := make(chan string, 100)
	acceptRaw(t, l, reply, cmds)
	return l.Addr().(*net.TCPAddr).Port, cmds
}

// acceptRaw serves every connection l takes with serveRaw, until the test
// ends.
func acceptRaw(t *testing.T, l net.Listener, reply func(string) string, cmds chan<- string) {
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
			go serveRaw(conn, reply, cmds)
		}
	}()
}

func serveRaw(conn net.Conn, reply func(string) string, cmds chan<- string) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("220 mail.test ESMTP\r\n")); err != nil {
		return
	}
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		if inData {
			if cmd != "." {
				continue
			}
			cmd, inData = "DATA-END", false
		}
		cmds <- cmd
		answer := reply(cmd)
		switch answer {
		case hang:
			_, _ = r.ReadString('\n') // until the client gives up
			return
		case drop:
			return
		}
		inData = strings.HasPrefix(answer, "354")
		if _, err := conn.Write([]byte(answer + "\r\n")); err != nil {
			return
		}
	}
}

// plain answers a client that sends one mail without TLS or login.
func plain(cmd string) string {
	switch {
	case strings.HasPrefix(cmd, "EHLO"):
		return "250-mail.test\r\n250 8BITMIME"
	case cmd == "DATA":
		return "354 go ahead"
	case cmd == "DATA-END":
		return "250 2.0.0 queued as 1234"
	case cmd == "QUIT":
		return "221 bye"
	}
	return "250 ok"
}

func plainAction(t *testing.T, port int) *email.Action {
	return newAction(t, email.Config{Host: "127.0.0.1", Port: port, TLS: email.TLSNone,
		From: "leaderhook@example.com", To: []string{"ops@example.com"}})
}

// An attempt ends when its context does, even while the server sits on
// a command: a drain that runs out of time, or a delivery gone stale,
// must not wait for the SMTP timeout of each command.
func TestCancelEndsAHungExchange(t *testing.T) {
	port, seen := rawSMTP(t, func(cmd string) string {
		if strings.HasPrefix(cmd, "MAIL FROM") {
			return hang
		}
		return plain(cmd)
	})
	a := plainAction(t, port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := a.Run(ctx, notification())
		done <- err
	}()
	for cmd := range seen {
		if strings.HasPrefix(cmd, "MAIL FROM") {
			break
		}
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || actions.IsPermanent(err) || !strings.Contains(err.Error(), context.Canceled.Error()) {
			t.Errorf("a cancelled attempt: %v, want a failure to retry", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the attempt went on after its context ended")
	}
}

// A mail the server accepted is sent, whatever the server says after
// (to the NOOP and RSET go-mail sends, or to QUIT), or if it drops the
// connection instead: a retry would send it again.
func TestAcceptedMailIsSentWhateverFollows(t *testing.T) {
	for _, tc := range []struct{ cmd, answer string }{
		{"QUIT", drop}, {"QUIT", "421 closing"}, {"NOOP", drop}, {"RSET", "502 5.5.1 not implemented"}, {"RSET", drop},
	} {
		accepted := false // the server's goroutine alone uses it
		port, seen := rawSMTP(t, func(cmd string) string {
			accepted = accepted || cmd == "DATA-END"
			if accepted && cmd == tc.cmd {
				return tc.answer
			}
			return plain(cmd)
		})
		if out, err := plainAction(t, port).Run(context.Background(), notification()); err != nil {
			t.Errorf("%s answered %q: %+v %v", tc.cmd, tc.answer, out, err)
		}
		mails := 0
		for len(seen) > 0 {
			if <-seen == "DATA-END" {
				mails++
			}
		}
		if mails != 1 {
			t.Errorf("%s answered %q: %d mails accepted", tc.cmd, tc.answer, mails)
		}
	}
}

// rawTLS is rawSMTP with implicit TLS, its certificate signed by the CA
// in caFile.
func rawTLS(t *testing.T, addr string, reply func(cmd string) string) (port int, caFile string) {
	t.Helper()
	cert, caFile := certificates(t)
	l, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	acceptRaw(t, l, reply, make(chan string, 100))
	return l.Addr().(*net.TCPAddr).Port, caFile
}

// A username for a server that offers no login, or none leaderhook
// knows, is a mistake of the config: it fails for good at once, and the
// error says what the server offered, instead of five attempts.
func TestNoUsableLoginIsPermanent(t *testing.T) {
	for _, tc := range []struct{ ehlo, want string }{
		{"250-mail.test\r\n250 8BITMIME", "offers no SMTP AUTH"},
		{"250-mail.test\r\n250-AUTH XFOO GSSAPI\r\n250 8BITMIME", "XFOO GSSAPI"},
	} {
		port, caFile := rawTLS(t, "127.0.0.1:0", func(cmd string) string {
			if strings.HasPrefix(cmd, "EHLO") {
				return tc.ehlo
			}
			return plain(cmd)
		})
		a := newAction(t, email.Config{Host: "127.0.0.1", Port: port, TLS: email.TLSImplicit, CAFile: caFile,
			Username: user, Password: password, From: "leaderhook@example.com", To: []string{"ops@example.com"}})
		_, err := a.Run(context.Background(), notification())
		if !actions.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "username") {
			t.Errorf("EHLO %q: %v, want a permanent failure that says %q", tc.ehlo, err, tc.want)

		}
	}
}

// An IPv6 address is a host, bracketed or not: it is dialled, and its
// certificate checked, as that address.
func TestIPv6Host(t *testing.T) {
	if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		l.Close()
	}
	for _, host := range []string{"::1", "[::1]"} {
		cfg := email.Config{Host: host, TLS: email.TLSImplicit, From: "leaderhook@example.com", To: []string{"ops@example.com"}}
		if errs := cfg.Validate(); len(errs) > 0 {
			t.Errorf("host %s: %v", host, errs)
			continue
		}
		port, caFile := rawTLS(t, "[::1]:0", plain)
		cfg.Port, cfg.CAFile = port, caFile
		a := newAction(t, cfg)
		if want := net.JoinHostPort("::1", strconv.Itoa(port)); a.Where() != want {
			t.Errorf("host %s: where %s, want %s", host, a.Where(), want)
		}
		if out, err := a.Run(context.Background(), notification()); err != nil {
			t.Errorf("host %s: %+v %v", host, out, err)
		}
	}
	for _, host := range []string{"mail:25", "[mail]", "::1]", "[::1"} {
		if errs := (email.Config{Host: host, From: "a@b.c", To: []string{"a@b.c"}}).Validate(); len(errs) != 1 || errs[0].Path != "host" {
			t.Errorf("host %s: %v, want it refused", host, errs)
		}
	}
}

// A recipient the server refuses does not keep the mail from the others:
// it goes to those accepted, and the detail names who was refused. One
// refused for now (4xx) makes the attempt fail, to be retried. When none
// is accepted, the attempt is retried if a refusal was temporary,
// whichever recipient it was, and fails for good otherwise.
func TestRefusedRecipients(t *testing.T) {
	refuse := func(cmd string) string {
		switch {
		case strings.HasPrefix(cmd, "RCPT TO:<gone"):
			return "550 5.1.1 no such user"
		case strings.HasPrefix(cmd, "RCPT TO:<busy"):
			return "451 4.3.0 try again later"
		}
		return plain(cmd)
	}
	for _, tc := range []struct {
		to         []string
		mails      int
		fails      bool
		permanent  bool
		wantDetail string
	}{
		{to: []string{"gone@example.com", "ops@example.com"}, mails: 1, wantDetail: "sent to 1 of 2 recipients; refused: gone@example.com: 550"},
		{to: []string{"ops@example.com", "busy@example.com"}, mails: 1, fails: true, wantDetail: "sent to 1 of 2 recipients; refused: busy@example.com: 451"},
		{to: []string{"ops@example.com", "gone@example.com", "busy@example.com"}, mails: 1, fails: true, wantDetail: "gone@example.com: 550"},
		{to: []string{"busy@example.com", "gone@example.com"}, fails: true},
		{to: []string{"gone@example.com", "busy@example.com"}, fails: true},
		{to: []string{"gone@example.com", "gone2@example.com"}, fails: true, permanent: true},
	} {
		port, seen := rawSMTP(t, refuse)
		a := newAction(t, email.Config{Host: "127.0.0.1", Port: port, TLS: email.TLSNone,
			From: "leaderhook@example.com", To: tc.to})
		out, err := a.Run(context.Background(), notification())
		mails := 0
		for len(seen) > 0 {
			if <-seen == "DATA-END" {
				mails++
			}
		}
		if (err != nil) != tc.fails || actions.IsPermanent(err) != tc.permanent || mails != tc.mails ||
			!strings.Contains(out.Detail, tc.wantDetail) {
			t.Errorf("to %v: %d mails, %+v %v; want %d mails, failed %v (for good %v), detail %q",
				tc.to, mails, out, err, tc.mails, tc.fails, tc.permanent, tc.wantDetail)
		}
	}
}

// The next attempt of a delivery whose mail a recipient refused for now
// (greylisting) sends to that one alone: the others have it.
func TestRetrySendsToThoseRefusedForNow(t *testing.T) {
	var attempts atomic.Int32
	greylist := func(cmd string) string {
		if strings.HasPrefix(cmd, "MAIL FROM") {
			attempts.Add(1)
		}
		if strings.HasPrefix(cmd, "RCPT TO:<new") && attempts.Load() == 1 {
			return "451 4.7.1 greylisted, try again later"
		}
		return plain(cmd)
	}
	port, seen := rawSMTP(t, greylist)
	a := newAction(t, email.Config{Host: "127.0.0.1", Port: port, TLS: email.TLSNone,
		From: "leaderhook@example.com", To: []string{"ops@example.com", "new@example.com"}})
	n := notification()
	if _, err := a.Run(context.Background(), n); err == nil || actions.IsPermanent(err) {
		t.Fatalf("first attempt: %v, want it to fail for a retry", err)
	}
	out, err := a.Run(context.Background(), n)
	if err != nil || !strings.Contains(out.Detail, "sent to 1 recipient") {
		t.Fatalf("second attempt: %+v %v, want it sent to the one left", out, err)
	}
	var rcpts []string
	for len(seen) > 0 {
		if cmd := <-seen; strings.HasPrefix(cmd, "RCPT") {
			rcpts = append(rcpts, cmd)
		}
	}
	want := []string{"RCPT TO:<ops@example.com>", "RCPT TO:<new@example.com>", "RCPT TO:<new@example.com>"}
	if !slices.Equal(rcpts, want) {
		t.Errorf("RCPT commands %q, want %q", rcpts, want)
	}
	if out, err := a.Run(context.Background(), n); err != nil || !strings.Contains(out.Detail, "sent to 2 recipients") {
		t.Errorf("a later delivery of the same id: %+v %v, want it sent to everyone", out, err)
	}
}
