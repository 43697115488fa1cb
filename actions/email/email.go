// Package email sends notifications by mail through an SMTP server, with
// STARTTLS (required, not opportunistic) or implicit TLS, and
// authentication by the strongest mechanism the server offers, using
// github.com/wneessen/go-mail. The subject and
// the plain-text body are templates; without a body template an HTML part
// with the same facts goes along. Every attempt of a delivery carries the
// same Message-ID, made of the delivery id, so that a mail system can
// drop a copy that a retry sent again.
//
// One Run is one attempt: a server's 4xx (try later), a connection that
// fails or times out are retried; a 5xx (a failed login, every recipient
// refused for good) and a certificate that does not verify are not. A
// recipient the server refuses does not keep the mail from the others: it
// goes to those accepted, the detail naming who was refused. Those
// refused for now (4xx: greylisting, a full mailbox) make the attempt
// fail, and the next one sends to them alone. Once the server has
// accepted the mail, nothing after (RSET, QUIT) fails the attempt.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"net"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"text/template"
	"time"

	gomail "github.com/wneessen/go-mail"
	mlog "github.com/wneessen/go-mail/log"
	"github.com/wneessen/go-mail/smtp"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/event"
)

// Action is an email action.
type Action struct {
	name    string
	cfg     Config
	timeout time.Duration
	subject *template.Template // nil: the default
	body    *template.Template // nil: the default, with an HTML part
	tls     *tls.Config
	secrets actions.Redactor
	now     func() time.Time

	mu sync.Mutex
	// owed are, by delivery id, the recipients an attempt left refused
	// for now (4xx: greylisting, a full mailbox) while the others got the
	// mail: the next attempt sends to them alone. In memory only: after a
	// restart, a retry sends to everyone again, with the same Message-ID.
	owed map[string]owedMail
}

// owedMail is who a delivery's mail still has to reach.
type owedMail struct {
	to    []string
	since time.Time
}

// owedFor bounds how long an entry is kept: a delivery whose retries ran
// out leaves its entry behind.
const owedFor = 24 * time.Hour

// New builds the action; templates are parsed and the CA file read once,
// here.
func New(name string, spec actions.Spec) (*Action, error) {
	spec, cfg, err := actions.ConfigOf[Config](spec, Delivery)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", name, err)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("action %s: %s", name, actions.Redact(errs[0].Error(), spec.Secrets()...))
	}
	cfg.Host = bareHost(cfg.Host)
	a := &Action{name: name, cfg: cfg, timeout: spec.Timeout, secrets: actions.NewRedactor(spec.Secrets()...), now: time.Now,
		tls: &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("action %s: ca_file: %w", name, err)
		}
		a.tls.RootCAs = x509.NewCertPool()
		if !a.tls.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("action %s: ca_file %s holds no PEM certificate", name, cfg.CAFile)
		}
	}
	if cfg.Subject != "" {
		if a.subject, err = actions.ParseTemplate("subject", cfg.Subject); err != nil {
			return nil, fmt.Errorf("action %s: %s", name, a.redact(err.Error()))
		}
	}
	if cfg.Body != "" {
		if a.body, err = actions.ParseTemplate("body", cfg.Body); err != nil {
			return nil, fmt.Errorf("action %s: %s", name, a.redact(err.Error()))
		}
	}
	return a, nil
}

// Mail is what a notification sends.
type Mail struct {
	Subject string
	Text    string
	HTML    string // "" with a body template
}

// Build renders the mail of a notification, and notes when the subject or
// body template failed on it (or the subject rendered nothing) and the
// default was put in its place (see actions.RenderMessage).
func (a *Action) Build(n *actions.Notification) (m Mail, notes string) {
	status := "FIRING"
	if n.Status == actions.StatusResolved {
		status = "RESOLVED"
	}
	def := fmt.Sprintf("[%s] %s on %s: %s", status, n.Rule, n.Cluster, n.Summary())
	subject, subjectNote := actions.RenderMessage(a.name, a.subject, n, def, false)
	// A subject is one line, whatever an id holds.
	m.Subject = event.Printable(strings.TrimSpace(subject))
	text, html := defaultBody(n)
	// A blank body is sent as written: the subject says what happened.
	body, bodyNote := actions.RenderMessage(a.name, a.body, n, text, true)
	m.Text = body
	if a.body == nil || bodyNote != "" {
		m.HTML = html
	}
	return m, actions.JoinNotes(subjectNote, bodyNote)
}

// facts are the lines of the default body.
func facts(n *actions.Notification) [][2]string {
	leaderless := "—"
	if n.Leaderless || n.LeaderlessFor > 0 {
		leaderless = actions.HumanDuration(n.LeaderlessFor)
	}
	f := [][2]string{
		{"Rule", n.Rule}, {"Status", n.Status}, {"Cluster", n.Cluster},
		{"Leader", or(n.LeaderID, "none")}, {"Previous leader", or(n.PreviousLeaderID, "—")},
		{"Leaderless for", leaderless}, {"Fired at", n.FiredAt.UTC().Format("2006-01-02 15:04:05 MST")},
	}
	if n.Lasted > 0 {
		f = append(f, [2]string{"Lasted", actions.HumanDuration(n.Lasted)})
	}
	if n.MembersTotal > 0 {
		f = append(f, [2]string{"Members up", fmt.Sprintf("%d of %d", n.MembersUp, n.MembersTotal)})
	}
	return append(f, [2]string{"Delivery", n.DeliveryID})
}

func defaultBody(n *actions.Notification) (text, htmlPart string) {
	var t, h strings.Builder
	t.WriteString(n.Summary() + "\n\n")
	h.WriteString("<html><body><p>" + html.EscapeString(n.Summary()) + "</p>\n<table>\n")
	for _, f := range facts(n) {
		fmt.Fprintf(&t, "%-16s %s\n", f[0]+":", event.Printable(f[1]))
		fmt.Fprintf(&h, "<tr><th align=\"left\">%s</th><td>%s</td></tr>\n", html.EscapeString(f[0]), html.EscapeString(f[1]))
	}
	h.WriteString("</table>\n</body></html>\n")
	return t.String(), h.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// message builds the go-mail message of a mail.
func (a *Action) message(n *actions.Notification, m Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(a.cfg.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(a.cfg.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.TrimPrefix(n.DeliveryID, "<") + "@leaderhook")
	msg.SetDateWithValue(a.now())
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// client returns a go-mail client for one attempt, whose connection ends
// with attempt.
func (a *Action) client(attempt context.Context, offer *authOffer) (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(a.cfg.Port), gomail.WithTLSConfig(a.tls), gomail.WithTimeout(a.timeout),
		gomail.WithDialContextFunc(a.dial(attempt))}
	switch a.cfg.TLS {
	case TLSImplicit:
		// dial speaks TLS already; go-mail sees it and offers no STARTTLS.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if a.cfg.Username != "" {
		opts = append(opts, gomail.WithUsername(a.cfg.Username), gomail.WithPassword(a.cfg.Password),
			gomail.WithDebugLog(), gomail.WithLogger(offer))
		if a.cfg.TLS == TLSNone {
			// go-mail's discovery never sends a password in clear, so
			// that a server offering only PLAIN and LOGIN would fail
			// every attempt; `check` warns of this setting instead.
			opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthNTLM, gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc))
		} else {
			opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
		}
	}
	host := a.cfg.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // go-mail writes host:port without brackets
	}
	return gomail.NewClient(host, opts...)
}

// dial connects for one attempt, with TLS from the start if so set. go-mail
// reads the context only while it connects, and then bounds each command
// by the timeout: closing the connection when the attempt's context ends
// is what stops a server that sits on a command, so that neither a drain
// nor a delivery gone stale waits for it.
func (a *Action) dial(attempt context.Context) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if a.cfg.TLS == TLSImplicit {
			tc := tls.Client(conn, a.tls)
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, err
			}
			conn = tc
		}
		context.AfterFunc(attempt, func() { conn.Close() })
		return conn, nil
	}
}

// Run sends the mail once, bounded by ctx and by the action's timeout.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	m, notes := a.Build(n)
	out, err := a.deliver(ctx, n, m)
	return out.Noted(a.redact(notes)), err
}

// deliver makes one attempt to send m.
func (a *Action) deliver(ctx context.Context, n *actions.Notification, m Mail) (actions.Outcome, error) {
	msg, err := a.message(n, m)
	if err != nil {
		text := a.redact(err.Error())
		return actions.Outcome{Detail: text}, actions.Permanent(errors.New(text))
	}
	var cancel context.CancelFunc
	if dl, ok := ctx.Deadline(); a.timeout > 0 && (!ok || time.Until(dl) > a.timeout) {
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel() // closes the connection
	offer := &authOffer{}
	c, err := a.client(ctx, offer)
	if err != nil {
		text := a.redact(err.Error())
		return actions.Outcome{Detail: text}, actions.Permanent(errors.New(text))
	}
	to, err := a.recipients(n.DeliveryID, msg)
	if err != nil {
		text := a.redact(err.Error())
		return actions.Outcome{Detail: text}, actions.Permanent(errors.New(text))
	}
	refused, err := send(ctx, c, msg, to)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = fmt.Errorf("%w: %w", cause, err) // not just "use of closed network connection"
		}
		if noLogin(err) {
			text := a.redact(fmt.Sprintf("SMTP %s: username is set, but %s: %v", a.Where(), offer, err))
			return actions.Outcome{Detail: text}, actions.Permanent(errors.New(text))
		}
		text := a.redact(fmt.Sprintf("SMTP %s: %v", a.Where(), err))
		out := actions.Outcome{Detail: text}
		if permanent(err) {
			return out, actions.Permanent(errors.New(text))
		}
		return out, errors.New(text)
	}
	return a.sent(n.DeliveryID, to, refused)
}

// recipients are who an attempt sends to: those an earlier attempt of the
// delivery left owed, or every recipient of msg.
func (a *Action) recipients(id string, msg *gomail.Msg) ([]string, error) {
	a.mu.Lock()
	owed, ok := a.owed[id]
	a.mu.Unlock()
	if ok {
		return owed.to, nil
	}
	return msg.GetRecipients()
}

// sent is the outcome of an attempt whose mail the server took for some
// recipients. Those it refused for now are owed the mail, and the attempt
// fails so that the next one sends to them alone; those refused for good
// are named, and given up.
func (a *Action) sent(id string, to []string, refused []refusal) (actions.Outcome, error) {
	var later []string
	for _, r := range refused {
		if !permanent(r.err) {
			later = append(later, r.to)
		}
	}
	a.owe(id, later)
	detail := a.redact(sentTo(len(to), refused))
	if len(later) > 0 {
		detail += "; those refused for now get it at the next attempt"
		return actions.Outcome{Detail: detail}, errors.New(detail)
	}
	return actions.Outcome{Detail: detail}, nil
}

// owe records who delivery id's mail still has to reach (none: it is
// done), and forgets entries older than owedFor.
func (a *Action) owe(id string, to []string) {
	if id == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for k, o := range a.owed {
		if now.Sub(o.since) > owedFor {
			delete(a.owed, k)
		}
	}
	if len(to) == 0 {
		delete(a.owed, id)
		return
	}
	if a.owed == nil {
		a.owed = map[string]owedMail{}
	}
	since := now
	if o, ok := a.owed[id]; ok {
		since = o.since
	}
	a.owed[id] = owedMail{to: to, since: since}
}

// sentTo says to how many recipients a mail went, and who was refused.
func sentTo(recipients int, refused []refusal) string {
	if len(refused) == 0 {
		if recipients == 1 {
			return "sent to 1 recipient"
		}
		return fmt.Sprintf("sent to %d recipients", recipients)
	}
	return fmt.Sprintf("sent to %d of %d recipients; refused: %s", recipients-len(refused), recipients, refusals(refused))
}

// send makes one SMTP exchange to the recipients to, and returns those
// the server refused while it took the mail for others. Once the server
// has accepted the mail, what follows failing (RSET, QUIT; a dropped
// connection, a 421, a 502) does not fail the attempt: a retry would
// send the mail again.
func send(ctx context.Context, c *gomail.Client, msg *gomail.Msg, to []string) ([]refusal, error) {
	from, err := msg.GetSender(false)
	if err != nil {
		return nil, err
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial failed: %w", err)
	}
	defer sc.Close() // QUIT closes it, but not when QUIT fails
	refused, err := transact(sc, msg, from, to)
	if err == nil {
		_ = sc.Reset()
	}
	_ = c.CloseWithSMTPClient(sc)
	if err != nil {
		return nil, fmt.Errorf("send failed: %w", err)
	}
	return refused, nil
}

// refusal is a recipient the server refused, and its reply.
type refusal struct {
	to  string
	err error
}

// transact sends msg to every recipient the server takes: unlike
// go-mail's Send, which gives the mail up when one RCPT is refused, so
// that one address gone stale, or greylisted, would keep the page from
// everyone. When the server takes none, the error is a temporary refusal
// if there is one (a later attempt may get through), else a permanent one.
func transact(sc *smtp.Client, msg *gomail.Msg, from string, to []string) ([]refusal, error) {
	if err := sc.Mail(from); err != nil {
		_ = sc.Reset()
		return nil, fmt.Errorf("MAIL FROM: %w", err)
	}
	var refused []refusal
	for _, rcpt := range to {
		if err := sc.Rcpt(rcpt); err != nil {
			refused = append(refused, refusal{to: rcpt, err: err})
		}
	}
	if len(refused) == len(to) {
		_ = sc.Reset()
		return nil, fmt.Errorf("every recipient refused (%s): %w", refusals(refused), mostHopeful(refused))
	}
	w, err := sc.Data()
	if err != nil {
		return nil, fmt.Errorf("DATA: %w", err)
	}
	if _, err := msg.WriteTo(w); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("writing the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("end of DATA: %w", err)
	}
	return refused, nil
}

// mostHopeful is the refusal a retry may overcome (a 4xx reply), if any.
func mostHopeful(refused []refusal) error {
	for _, r := range refused {
		var reply *textproto.Error
		if !errors.As(r.err, &reply) || reply.Code < 500 {
			return r.err
		}
	}
	return refused[0].err
}

// refusals lists refused recipients with the server's replies.
func refusals(refused []refusal) string {
	parts := make([]string, len(refused))
	for i, r := range refused {
		parts[i] = strings.Trim(r.to, "<>") + ": " + r.err.Error()
	}
	return strings.Join(parts, ", ")
}

// noLogin tells that go-mail found no login to use: the server offers no
// AUTH, or no mechanism go-mail knows (or, without TLS, none that keeps the
// password from the wire). Another attempt would find the same.
func noLogin(err error) bool {
	return errors.Is(err, gomail.ErrNoSupportedAuthDiscovered) ||
		strings.Contains(err.Error(), "server does not support SMTP AUTH")
}

// authOffer keeps the AUTH mechanisms the server's last EHLO reply
// offered, from go-mail's debug log (which hides what a login sends), so
// that a failed login can say what they were. An attempt's exchange runs
// on one goroutine, which reads it after.
type authOffer struct{ mechs string }

func (o *authOffer) Debugf(l mlog.Log) {
	if l.Direction != mlog.DirServerToClient {
		return
	}
	reply := fmt.Sprintf(l.Format, l.Messages...)
	if !strings.HasPrefix(reply, "250 ") {
		return
	}
	// Only an EHLO's reply has several lines; each one sets the offer.
	lines := strings.Split(reply, "\n")
	if len(lines) < 2 {
		return
	}
	o.mechs = ""
	for _, line := range lines[1:] {
		if mechs, ok := strings.CutPrefix(strings.ToUpper(line), "AUTH "); ok {
			o.mechs = strings.TrimSpace(mechs)
		}
	}
}

func (o *authOffer) Infof(mlog.Log)  {}
func (o *authOffer) Warnf(mlog.Log)  {}
func (o *authOffer) Errorf(mlog.Log) {}

func (o *authOffer) String() string {
	if o.mechs == "" {
		return "the server offers no SMTP AUTH"
	}
	return "the server offers AUTH " + o.mechs + ", and leaderhook knows SCRAM-SHA-1/256, NTLM, CRAM-MD5, PLAIN and LOGIN (PLAIN and LOGIN only over TLS unless tls: none)"
}

// permanent tells a failure a retry cannot fix: a 5xx reply, a
// certificate that does not verify, a server without STARTTLS.
func permanent(err error) bool {
	var send *gomail.SendError
	if errors.As(err, &send) {
		// Only the server's reply says so: go-mail's own errors (a
		// connection lost mid-transaction) have no code, and are not
		// "temporary" either.
		return send.ErrorCode() >= 500
	}
	var proto *textproto.Error
	if errors.As(err, &proto) {
		return proto.Code >= 500
	}
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return strings.Contains(err.Error(), "STARTTLS")
}

func (a *Action) redact(s string) string { return a.secrets.Redact(s) }

// Where is the server as host:port.
func (a *Action) Where() string {
	return net.JoinHostPort(a.cfg.Host, fmt.Sprint(a.cfg.Port))
}

// Render shows the mail a run would send.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	m, notes := a.Build(n)
	body := m.Text
	if m.HTML != "" {
		body += "\n(and an HTML part with the same facts)\n"
	}
	return actions.Rendering{Kind: Name, Method: "SMTP " + strings.ToUpper(a.cfg.TLS), URL: "smtp://" + a.Where(),
		Headers: map[string]string{"From": a.cfg.From, "To": strings.Join(a.cfg.To, ", "), "Subject": m.Subject},
		Body:    a.redact(body), Notes: a.redact(notes)}, nil
}
