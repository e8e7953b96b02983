package regiongraph

import "fmt"

// Shape is the shape of an image with C channels, H rows and W columns.
// The variable of channel c of pixel (h, w) is c*H*W + h*W + w (CHW order,
// as in cirkit).
type Shape struct{ C, H, W int }

// NumVars returns C*H*W.
func (s Shape) NumVars() int { return s.C * s.H * s.W }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

func (s Shape) check(builder string) error {
	if s.C <= 0 || s.H <= 0 || s.W <= 0 {
		return argError(builder, "shape", "%v has a dimension that is not positive", s)
	}
	const maxVars = 1 << 30
	if s.C > maxVars || s.H > maxVars || s.W > maxVars || s.C*s.H > maxVars/s.W {
		return argError(builder, "shape", "%v has more than 2^30 variables", s)
	}
	return nil
}

// box is the pixel rectangle [h0, h1) x [w0, w1) with all channels.
type box struct{ h0, h1, w0, w1 int }

// scope returns the sorted variables of b.
func (s Shape) scope(b box) []int {
	out := make([]int, 0, s.C*(b.h1-b.h0)*(b.w1-b.w0))
	for c := range s.C {
		for h := b.h0; h < b.h1; h++ {
			base := c*s.H*s.W + h*s.W
			for w := b.w0; w < b.w1; w++ {
				out = append(out, base+w)
			}
		}
	}
	return out
}
