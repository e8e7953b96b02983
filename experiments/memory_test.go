package experiments

import "testing"

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1000", 1000}, {"512M", 512 << 20}, {"2G", 2 << 30}, {"2g", 2 << 30}, {"2GB", 2 << 30},
		{"2GiB", 2 << 30}, {"1.5G", 3 << 29}, {"64K", 64 << 10}, {"64kb", 64 << 10}, {"1T", 1 << 40},
		{" 3M ", 3 << 20}, {"0", 0}, {"10B", 10},
	} {
		got, err := ParseBytes(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "G", "KB", "-1M", "2X", "NaN", "Inf", "1e30T", "1.2.3M", "M2"} {
		if got, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) = %d, want an error", bad, got)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {900, "900 B"}, {1 << 10, "1.00 KiB"}, {1536 << 10, "1.50 MiB"},
		{25 << 20, "25.0 MiB"}, {3 << 30, "3.00 GiB"}, {5 << 40, "5.00 TiB"},
	} {
		if got := FormatBytes(tc.n); got != tc.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
