`default_nettype none
// tests/hdl/norm_tb.sv: the global-norm unit (templates/norm_unit.v, tiny's: gradient Q(32,24),
// 32-bit constants, 37-bit norm) against a plain reference of golden::optim's
// Unit::norm_and_clip (make hdl-unit): sum of squares, floor of the root, den = norm + delta,
// q = floor(clip_mant 2^bits(den) / den), its top bit dropped, the fraction and whether the
// factor is below 1. Random walks of 1 to 60 gradients (5 cycles apart, finish in the cycle after
// the last), random clip norms and deltas, and the edges: all 1376 of tiny's parameters at the
// most negative g, a den of all 38 bits, factors of exactly 1 and an LSB either side, all g zero
// with delta 0 (den = 0: never applies) and with delta 17, one g, clip norms whose mantissa lies
// above the norm's (the quotient's top bit dropped). done must pulse in cycle NormParams::cycles
// after finish (cycle 0) and in no other, with every result (the controller's wait).
// Exits non-zero on any mismatch.
module tb;
  localparam integer GW = 32, G_F = 24, CW = 32, SHW = 12, NRW = 37;
  localparam integer CYCLES = 156;     // tiny's NormParams::cycles: finish in cycle 0, done in this one
  localparam integer GAP = 5;          // g_valid to g_valid: the unit's 2 x 2 limb products + 1

  reg clk = 0;
  always #5 clk = ~clk;
  reg rst = 1, clear = 0, g_valid = 0, finish = 0;
  reg signed [GW-1:0] g = 0;
  reg [CW-2:0] clip_mant = 0;
  reg [SHW-1:0] clip_shift = 0;
  reg [NRW-1:0] delta = 0;
  wire done, applies;
  wire [NRW-1:0] norm;
  wire [CW-2:0] f_mant;
  wire [SHW:0] f_frac;
  norm_unit dut (
    .clk(clk), .rst(rst), .clear(clear), .g_valid(g_valid), .g(g), .finish(finish),
    .clip_mant(clip_mant), .clip_shift(clip_shift), .delta(delta),
    .done(done), .norm(norm), .applies(applies), .f_mant(f_mant), .f_frac(f_frac));

  `include "isqrt.svh"

  integer errors = 0, cases = 0, clipped = 0, dropped = 0, nonzero_den = 0;
  reg signed [GW-1:0] gs [0:1375];

  task automatic run(input integer n);
    reg [127:0] sq, nrm, den, q, mant;
    integer i, L, drop, frac, t, ok_app;
    reg want_app;
    begin
      sq = 0;
      for (i = 0; i < n; i = i + 1) sq = sq + ($signed({{96{gs[i][GW-1]}}, gs[i]}) * $signed({{96{gs[i][GW-1]}}, gs[i]}));
      nrm = isqrt(sq);
      den = nrm + {91'd0, delta};
      L = 0;
      for (i = 0; i < 128; i = i + 1) if (den[i]) L = i + 1;
      want_app = 0; mant = 0; frac = 0;
      if (den != 0) begin
        nonzero_den = nonzero_den + 1;
        q = ({97'd0, clip_mant} << L) / den;
        drop = q[CW-1] ? 1 : 0;
        mant = q >> drop;
        frac = clip_shift + L - drop - G_F;
        want_app = frac > 0 && (frac >= CW - 1 || (mant >> frac) == 0);
        dropped = dropped + drop;
      end
      // drive (blocking, at the falling edge: the unit samples at the rising one): clear, the
      // walk at the smallest spacing, finish in the cycle after the last g (cycle 0)
      @(negedge clk); clear = 1;
      @(negedge clk); clear = 0;
      for (i = 0; i < n; i = i + 1) begin
        @(negedge clk); g_valid = 1; g = gs[i];
        if (i < n - 1) begin
          @(negedge clk); g_valid = 0; g = $random;
          repeat (GAP - 2) @(negedge clk);
        end
      end
      @(negedge clk); g_valid = 0; g = $random; finish = 1;
      // done pulses in cycle CYCLES, the results hold from then on
      for (t = 1; t <= CYCLES; t = t + 1) begin
        @(negedge clk); finish = 0;
        if (done != (t == CYCLES)) begin
          $display("MISMATCH case %0d: done %0d in cycle %0d after finish (want it in cycle %0d only)", cases, done, t, CYCLES);
          errors = errors + 1;
        end
      end
      ok_app = (applies == want_app) && (!want_app || (f_mant == mant[CW-2:0] && f_frac == frac[SHW:0]));
      if (norm != nrm[NRW-1:0] || !ok_app) begin
        $display("MISMATCH case %0d (%0d g, clip %0d * 2^-%0d, delta %0d): norm %0d applies %0d f %0d 2^-%0d; want %0d %0d %0d 2^-%0d",
                 cases, n, clip_mant, clip_shift, delta, norm, applies, f_mant, f_frac, nrm, want_app, mant, frac);
        errors = errors + 1;
      end
      clipped = clipped + want_app;
      cases = cases + 1;
    end
  endtask

  integer c, i, n, amp;
  initial begin
    repeat (4) @(negedge clk);
    rst = 0;
    // the edges: tiny's every parameter at the most negative g (the widths' worst case), a den of
    // 38 bits (no normalizing shift), a factor of exactly 1 and one LSB either side
    for (i = 0; i < 1376; i = i + 1) gs[i] = {1'b1, {(GW-1){1'b0}}};
    clip_mant = 31'h40000000; clip_shift = 30; delta = 17;        // clip 1.0
    run(1376);
    delta = {NRW{1'b1}}; clip_shift = 62; run(1376);             // den >= 2^37: L = 38
    gs[0] = 0; run(1);
    delta = 16; clip_shift = 50; run(1);                           // q = 2^31, f_frac = 30: factor 1
    clip_mant = 31'h3fffffff; run(1);                              // just below 1
    clip_mant = 31'h40000000; clip_shift = 51; run(1);             // 1/2
    clip_shift = 49; run(1);                                       // 2
    for (i = 0; i < 60; i = i + 1) gs[i] = {1'b1, {(GW-1){1'b0}}};
    clip_shift = 30; delta = 17; run(60);
    for (i = 0; i < 60; i = i + 1) gs[i] = 0;
    delta = 0; run(60);                                            // den = 0
    delta = 17; run(7);                                            // den = delta: not clipped
    clip_shift = 60; run(3);                                       // a tiny clip norm: clipped
    gs[0] = 1; clip_shift = 0; delta = 0; run(1);
    gs[0] = -1; clip_shift = 54; run(1);
    // random walks: norms over 2^-24 .. 2^11, clip norms over 2^-20 .. 2^20
    for (c = 0; c < 400; c = c + 1) begin
      n = 1 + ($unsigned($random) % 60);
      amp = $unsigned($random) % 31;
      for (i = 0; i < n; i = i + 1) gs[i] = $signed($random) >>> amp;
      clip_mant = {1'b1, 30'd0} | ($unsigned($random) & 31'h3fffffff);
      if (c % 7 == 0) clip_mant = clip_mant >> ($unsigned($random) % 30);   // an unnormalized one
      clip_shift = 10 + ($unsigned($random) % 41);
      delta = (c % 5 == 0) ? ($unsigned($random) % 1000) : 17;
      run(n);
    end
    $display("norm_unit: %0d cases, %0d clipped, %0d with the quotient's top bit dropped, %0d with den > 0; %0d mismatches",
             cases, clipped, dropped, nonzero_den, errors);
    if (errors != 0 || clipped < 50 || cases - clipped < 50 || dropped < 50) begin
      $display("norm_tb: FAIL");
      $fatal(1, "norm_tb: %0d mismatches", errors);
    end
    $display("norm_tb: PASS");
    $finish;
  end
endmodule
`default_nettype wire
