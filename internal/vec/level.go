package vec

func levelName(l int) string {
	switch l {
	case 2:
		return "x86-64-v4"
	case 1:
		return "x86-64-v3"
	}
	return "baseline"
}
