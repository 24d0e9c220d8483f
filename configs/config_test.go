package configs

import (
	"os"
	"testing"
)

// METRICS_ADDR: unset is the loopback default, set empty turns metrics off, anything else is kept.
func TestLoad_metricsAddrDefaultsToLoopbackAndEmptyDisables(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value *string
		want  string
	}{
		{"unset", nil, DefaultMetricsAddr},
		{"empty", ptr(""), ""},
		{"set", ptr("10.0.0.5:9100"), "10.0.0.5:9100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("METRICS_ADDR", "")
			if tc.value == nil {
				os.Unsetenv("METRICS_ADDR")
			} else {
				t.Setenv("METRICS_ADDR", *tc.value)
			}
			c, err := Load()
			if err != nil {
				t.Fatal(err)
			}
			if c.MetricsAddr != tc.want {
				t.Errorf("MetricsAddr %q, want %q", c.MetricsAddr, tc.want)
			}
		})
	}
	if d := Defaults(); d.MetricsAddr != DefaultMetricsAddr {
		t.Errorf("Defaults().MetricsAddr %q", d.MetricsAddr)
	}
}

func ptr(s string) *string { return &s }
