package trace

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tracetriage/tracetriage/internal/testutil"
)

// sharedTraces lists the real traces under ../shared/traces.
func sharedTraces(t *testing.T) []string {
	t.Helper()
	dir := testutil.SharedDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "traces", "*", "*.json*"))
	if len(paths) < 20 {
		t.Fatalf("expected the 22 shared traces, found %d", len(paths))
	}
	return paths
}

// diffTraces reports the first difference between two traces.
func diffTraces(t *testing.T, want, got *Trace) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return
	}
	v1, v2 := reflect.ValueOf(*want), reflect.ValueOf(*got)
	for i := range v1.NumField() {
		name := v1.Type().Field(i).Name
		if !reflect.DeepEqual(v1.Field(i).Interface(), v2.Field(i).Interface()) {
			f1, f2 := v1.Field(i), v2.Field(i)
			if f1.Kind() == reflect.Slice {
				for j := 0; j < min(f1.Len(), f2.Len()); j++ {
					if !reflect.DeepEqual(f1.Index(j).Interface(), f2.Index(j).Interface()) {
						t.Errorf("%s[%d]: general %+v, fast %+v", name, j, f1.Index(j).Interface(), f2.Index(j).Interface())
						break
					}
				}
				if f1.Len() != f2.Len() {
					t.Errorf("%s: general has %d, fast %d", name, f1.Len(), f2.Len())
				}
				continue
			}
			if name == "Strings" {
				a, b := want.Strings.list, got.Strings.list
				for j := 0; j < min(len(a), len(b)); j++ {
					if a[j] != b[j] {
						t.Errorf("Strings[%d]: general %q, fast %q", j, a[j], b[j])
						break
					}
				}
				if len(a) != len(b) {
					t.Errorf("Strings: general has %d, fast %d", len(a), len(b))
				}
				continue
			}
			t.Errorf("%s: general %+v, fast %+v", name, f1.Interface(), f2.Interface())
		}
	}
}

func TestFastMatchesGeneralOnSharedTraces(t *testing.T) {
	for _, p := range sharedTraces(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			// -short (the race-detector run) keeps the small traces; the
			// full run checks all of them.
			if st, err := os.Stat(p); testing.Short() && err == nil && st.Size() > 256<<10 {
				t.Skip("large trace; skipped with -short")
			}
			ctx := context.Background()
			want, err := Load(ctx, p, Options{General: true})
			if err != nil {
				t.Fatal(err)
			}
			fast, ferr := loadFast(ctx, p, Options{})
			if ferr != nil {
				t.Errorf("the fast path gave up on a real trace: %v", ferr)
			} else {
				diffTraces(t, want, fast)
			}
			got, err := Load(ctx, p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			diffTraces(t, want, got)
		})
	}
}
