package email_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/email"
	"github.com/leaderhook/leaderhook/internal/testpki"
)

const (
	user     = "leaderhook"
	password = "smtp-password-0123"
)

// mailbox is an SMTP server's backend: it wants TLS and a login, and
// keeps the mails it is given.
type mailbox struct {
	mu    sync.Mutex
	mails []received
}

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
}

func (b *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{box: b, tls: isTLS, conn: c.Conn()}, nil
}

func (b *mailbox) got() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.mails...)
}

type session struct {
	conn   net.Conn // closed during DATA for drop@ recipients
	box    *mailbox
	tls    bool
	authed bool
	cur    received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, u, p string) error {
		if u != user || p != password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.cur = received{from: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "busy@") {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if slices.ContainsFunc(s.cur.to, func(to string) bool { return strings.HasPrefix(to, "drop@") }) {
		s.conn.Close() // the connection drops mid-transaction
		return io.ErrUnexpectedEOF
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data, s.cur.tls = data, s.tls
	s.box.mu.Lock()
	s.box.mails = append(s.box.mails, s.cur)
	s.box.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// certificates makes a CA and a certificate for 127.0.0.1 and ::1 signed
// by it, and gives the CA's PEM file.
func certificates(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	ca := testpki.New(t)
	certFile, keyFile := ca.IssueFor("mail", []string{"127.0.0.1", "::1"}, x509.ExtKeyUsageServerAuth)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return cert, ca.File
}

// startSMTP serves box on 127.0.0.1: with STARTTLS, or with implicit TLS.
func startSMTP(t *testing.T, box *mailbox, implicit bool) (port int, caFile string) {
	t.Helper()
	cert, caFile := certificates(t)
	srv := smtp.NewServer(box)
	srv.Domain = "mail.test"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port, caFile
}

func newAction(t *testing.T, cfg email.Config) *email.Action {
	t.Helper()
	a, err := email.New("mail", actions.Spec{Type: email.Name, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func notification() *actions.Notification {
	return &actions.Notification{DeliveryID: "msg_0123abcd", Rule: "leaderless-30s", Status: actions.StatusFiring, Cluster: "ziti-prod",
		FiredAt: time.Date(2026, 3, 1, 19, 3, 43, 0, time.UTC), PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second}
}

// A mail goes out over STARTTLS or implicit TLS with a login, once per
// delivery, with the rendered subject and body, to every recipient.
func TestSendsThroughARealSMTPServer(t *testing.T) {
	for _, mode := range []string{email.TLSStartTLS, email.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			box := &mailbox{}
			port, caFile := startSMTP(t, box, mode == email.TLSImplicit)
			a := newAction(t, email.Config{Host: "127.0.0.1", Port: port, TLS: mode, CAFile: caFile, Username: user, Password: password,
				From: "leaderhook <leaderhook@example.com>", To: []string{"ops@example.com", "Oncall <oncall@example.com>"},
				Subject: "{{ .Cluster }}: {{ .Summary }}", Body: "Rule {{ .Rule }} is {{ .Status }}.\n"})
			if out, err := a.Run(context.Background(), notification()); err != nil {
				t.Fatalf("%+v %v", out, err)
			}
			mails := box.got()
			if len(mails) != 1 {
				t.Fatalf("%d mails arrived, want 1", len(mails))
			}
			got := mails[0]
			msg, err := mail.ReadMessage(strings.NewReader(string(got.data)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(msg.Body)
			subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if !got.tls || got.from != "leaderhook@example.com" || strings.Join(got.to, ",") != "ops@example.com,oncall@example.com" ||
				subject != "ziti-prod: no leader for 30s (was ctrl1)" || !strings.Contains(string(body), "Rule leaderless-30s is firing.") ||
				msg.Header.Get("Message-Id") != "<msg_0123abcd@leaderhook>" {
				t.Errorf("mail from %s to %v over TLS %v, subject %q, Message-Id %s:\n%s", got.from, got.to, got.tls, subject, msg.Header.Get("Message-Id"), body)
			}
		})
	}
}

// A wrong password is refused for good, the password never shown; a
// recipient the server asks to retry later is retried, and so is a
// connection that drops mid-transaction; without a body
// template an HTML part goes along.
func TestErrorsAndDefaultBody(t *testing.T) {
	box := &mailbox{}
	port, caFile := startSMTP(t, box, false)
	base := email.Config{Host: "127.0.0.1", Port: port, CAFile: caFile, Username: user, Password: password,
		From: "leaderhook@example.com", To: []string{"ops@example.com"}}
	wrong := base
	wrong.Password = "not-the-password-42"
	out, err := newAction(t, wrong).Run(context.Background(), notification())
	if !actions.IsPermanent(err) || strings.Contains(err.Error()+out.Detail, "not-the-password-42") {
		t.Errorf("wrong password: %+v %v", out, err)
	}
	busy := base
	busy.To = []string{"busy@example.com"}
	if _, err := newAction(t, busy).Run(context.Background(), notification()); err == nil || actions.IsPermanent(err) {
		t.Errorf("451: %v", err)
	}
	dropped := base
	dropped.To = []string{"drop@example.com"}
	if _, err := newAction(t, dropped).Run(context.Background(), notification()); err == nil || actions.IsPermanent(err) {
		t.Errorf("a connection dropped during DATA: %v, want a failure to retry", err)
	}
	if _, err := newAction(t, base).Run(context.Background(), notification()); err != nil {
		t.Fatal(err)
	}
	mails := box.got()
	last := string(mails[len(mails)-1].data)
	if !strings.Contains(last, "text/html") || !strings.Contains(last, "Previous leader:") {
		t.Errorf("default mail:\n%s", last)
	}
	untrusted := base
	untrusted.CAFile = ""
	if _, err := newAction(t, untrusted).Run(context.Background(), notification()); !actions.IsPermanent(err) {
		var cert *tls.CertificateVerificationError
		t.Errorf("an untrusted certificate: %v (%v)", err, errors.As(err, &cert))
	}
}

func TestValidate(t *testing.T) {
	errs := (email.Config{Host: "smtp://mail", From: "nobody", Password: "p"}).Validate()
	var got []string
	for _, e := range errs {
		got = append(got, e.Path)
	}
	if strings.Join(got, " ") != "host username from to" {
		t.Errorf("errors on %v: %v", got, errs)
	}
	cfg := (email.Config{TLS: email.TLSImplicit}).Defaults().(email.Config)
	if cfg.Port != 465 {
		t.Errorf("implicit TLS port %d", cfg.Port)
	}
}

// With `tls: none` a login goes through a server that offers only PLAIN
// and LOGIN, the password in clear as `check` warns, instead of failing
// every attempt for want of a mechanism.
func TestLoginWithoutTLS(t *testing.T) {
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "mail.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	a := newAction(t, email.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: email.TLSNone, Username: user, Password: password,
		From: "leaderhook@example.com", To: []string{"ops@example.com"}})
	if out, err := a.Run(context.Background(), notification()); err != nil || len(box.got()) != 1 {
		t.Errorf("%+v %v, %d mails", out, err, len(box.got()))
	}
}

// A subject or body template that passes the sample check but fails on a
// real notification, or a subject that renders nothing, still sends the
// mail, with the default subject or body (and its HTML part), and the
// audit detail says which template failed and why.
func TestFailingTemplatesSendTheDefaults(t *testing.T) {
	box := &mailbox{}
	port, caFile := startSMTP(t, box, false)
	cfg := email.Config{Host: "127.0.0.1", Port: port, CAFile: caFile, Username: user, Password: password,
		From: "leaderhook@example.com", To: []string{"ops@example.com"}, Subject: "{{ .Event.leaderId }}", Body: "Runbook: {{ .Event.previousLeaderId }}\n"}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	n := notification()
	n.Event = map[string]any{"leaderId": " \n"}
	out, err := newAction(t, cfg).Run(context.Background(), n)
	if err != nil {
		t.Fatalf("%+v %v", out, err)
	}
	mails := box.got()
	if len(mails) != 1 {
		t.Fatalf("%d mails arrived, want 1", len(mails))
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(mails[0].data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "[FIRING] leaderless-30s on ziti-prod: no leader for 30s (was ctrl1)" {
		t.Errorf("subject %q, want the default", subject)
	}
	if data := string(mails[0].data); !strings.Contains(data, "Previous leader:") || !strings.Contains(data, "text/html") {
		t.Errorf("want the default body and its HTML part:\n%s", data)
	}
	for _, want := range []string{"action mail: template subject rendered nothing: the default subject sent",
		`action mail: template body failed: body:1:18: at <.Event.previousLeaderId>: map has no entry for key "previousLeaderId": the default body sent`, "sent to 1 recipient"} {
		if !strings.Contains(out.Detail, want) {
			t.Errorf("detail %q lacks %q", out.Detail, want)
		}
	}
}
