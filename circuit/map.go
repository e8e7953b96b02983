package circuit

// MAP completes every row of x (n, V) with a most probable explanation of
// the circuit's latent-augmented model, and returns the completed rows (a
// new (n, V) slice; observed entries keep their values, unobserved entries
// of x are ignored) and, per row, log m(x*) − log Z: the log max-product
// value m of the completion, normalized by the (sum-product) partition
// function Z. Circuits with one root unit only.
//
// # What it is exact for
//
// Expanding every sum of the circuit, c(x) = Σ_z T_z(x): a sum over induced
// trees z, each choosing one term at every sum, of the product T_z(x) of the
// chosen weights and input densities. p(x, z) = T_z(x)/Z is the
// latent-augmented model (the sums' choices as latent variables), and
// Σ_z p(x, z) = p(x). MAP returns
//
//	(x_u*, z*) = argmax_{x_u, z} T_z(x_u, x_o),   value log T_{z*}(x*) − log Z
//
// exactly: the MPE of the augmented model given x_o, maximizing over the
// unobserved variables and over one term at every sum — for CP layers one j
// per input projection, chosen for each unit separately; for CP-R one rank r
// per unit, then one j per input projection; for Tucker one pair (i, j);
// for mixing one partition h. It is NOT the marginal MAP argmax_{x_u} p(x_u,
// x_o) of the circuit in general (that sums over z and is NP-hard); the two
// agree when every x has one tree of nonzero value (deterministic circuits).
//
// # The max-product semiring
//
// The upward pass replaces every sum by a max (log-space, per fold f, unit
// k, in_a,j the a-th input's unit j):
//
//	input unit k   ∏_{v observed} p_{v,k}(x_v) · ∏_{v unobserved} max_x p_{v,k}(x)
//	CP, CP-XS      ∏_a max_j W[wf,a,k,j]·in_a,j
//	CP-S           scale_{f,k} · ∏_a max_j W[0,a,k,j]·in_a,j
//	CP-R           max_r O[f,k,r] · ∏_a max_j U[f,a,r,j]·in_a,j
//	Tucker         max_{i,j} W[f,k,i·Kin+j]·in_1,i·in_2,j
//	mixing         max_h w[f,h,k]·in_h,k
//
// and backtracking from the root follows the argmax of every max (the first
// among ties), writing at each input unit reached the mode of p_{v,k} for
// its unobserved variables (the smallest most probable category; the mean
// of a Gaussian). The root's max-product value is max_z max_{x_u} T_z, and
// the completion's own max-product value (all variables observed) equals it.
// For Gaussian inputs the values are densities. A row whose evidence gives
// max-product value 0 is an error.
func (c *Circuit) MAP(x []uint8, observed []bool) ([]uint8, []float64, error) {
	out, v, err := c.mapQuery(x, observed, "MAP")
	if err != nil {
		return nil, nil, err
	}
	return out.u8, v, nil
}

// MAPFloat is MAP for Gaussian inputs: unobserved variables are set to the
// mean of the Gaussian unit that the maximizing tree reaches, and values are
// log-densities.
func (c *Circuit) MAPFloat(x []float64, observed []bool) ([]float64, []float64, error) {
	out, v, err := c.mapQuery(x, observed, "MAPFloat")
	if err != nil {
		return nil, nil, err
	}
	return out.f64, v, nil
}

func (c *Circuit) mapQuery(x any, observed []bool, what string) (*queryData, []float64, error) {
	if err := c.checkDownward(nil, false, what); err != nil {
		return nil, nil, err
	}
	ev, err := c.newEvidence(x, observed, what)
	if err != nil {
		return nil, nil, err
	}
	values := make([]float64, ev.n)
	out, err := c.complete(ev, maxProduct, &Downward{}, what, values)
	if err != nil {
		return nil, nil, err
	}
	return out, values, nil
}
