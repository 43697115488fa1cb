package actions

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// README.md's list of what templates see names every field a template can
// read, and nothing else: an operator writing a template reads it there.
func TestTemplateFieldsAreDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "Templates see `")
	if !ok {
		t.Fatal("README.md has no \"Templates see\" list")
	}
	list, _, _ := strings.Cut(after, "`")
	documented := regexp.MustCompile(`\.(\w+)`).FindAllStringSubmatch(list, -1)
	var names []string
	for _, m := range documented {
		names = append(names, m[1])
	}
	typ := reflect.TypeFor[Notification]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.IsExported() && !slices.Contains(names, f.Name) {
			t.Errorf("README.md's templates list does not name .%s", f.Name)
		}
	}
	for _, n := range names {
		if _, ok := typ.FieldByName(n); !ok {
			t.Errorf("README.md's templates list names .%s, which templates cannot read", n)
		}
	}
}
