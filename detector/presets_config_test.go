package detector_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/config"
)

// A TLS file that is missing or does not parse is reported by the config
// loader at its key's value, with the file's line and column; a secret
// given through ${VAR} appears in no message.
func TestTLSFileErrorsAtTheirLine(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "client.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	text := `clusters:
  - name: etcd-main
    source:
      type: poll
      preset: etcd
      members: [https://10.0.0.1:2379]
      ca_file: ` + filepath.Join(dir, "missing-ca.pem") + `
      cert_file: ` + notPEM + `
      key_file: ` + notPEM + `
      username: leaderhook
      password: ${ETCD_PASSWORD}
      token: ${ETCD_PASSWORD}
`
	env := func(name string) (string, bool) { return "s3cret-pw", name == "ETCD_PASSWORD" }
	_, _, err := config.Parse("lh.yaml", []byte(text), env)
	var list *config.Errors
	if !errors.As(err, &list) {
		t.Fatalf("%v", err)
	}
	var got []string
	for _, d := range list.Diagnostics {
		got = append(got, d.String())
	}
	want := []string{
		"lh.yaml:7:16: clusters[0].source.ca_file: open " + filepath.Join(dir, "missing-ca.pem") + ": no such file or directory",
		"lh.yaml:8:18: clusters[0].source.cert_file: " + notPEM + " holds no PEM certificate",
		"lh.yaml:12:14: clusters[0].source.token: does not apply to the etcd preset: only to consul, nomad or vault",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("a secret in the errors: %v", err)
	}
}
