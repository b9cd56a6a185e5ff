`default_nettype none
// tests/hdl/sgd_tb.sv: the sequential optimizer (templates/sgd_unit.v) against a plain reference
// of golden::optim's SGD rows (make hdl-unit), in both rounding and overflow modes at once
// (half-even + saturate, floor + wrap): random gradient sums, momenta, weights and constants,
// with and without momentum, shifts from realistic to extreme (every shift of the scale and the
// learning rate, the momentum's within golden::optim's check_sum bound), ties and values at the
// saturation boundaries; the overflow flags (out_ovf_g, _m, _w) against the reference's too.
// Parameters enter back to back at the unit's initiation interval, two in
// flight; the latency is measured against the unit's. The formats are the parameters below
// (tiny's; make hdl-unit also runs tests/data/sgd_wide.yaml's with -G). Exits non-zero on any
// mismatch.
module tb #(
  parameter integer GSW = 48,       // fixed.gradient_sum_width
  parameter integer CW = 32,        // fixed.constant
  parameter integer GW = 32, parameter integer G_F = 24,   // fixed.gradient
  parameter integer MW = 32, parameter integer M_F = 24,   // fixed.moment
  parameter integer WW = 16, parameter integer W_F = 14,   // fixed.weight
  parameter integer SUM_FRAC = 20   // 2 fixed.state.frac
);
  localparam integer SHW = 12;
  localparam integer XW = 400;   // the reference's exact values

  reg clk = 0;
  always #5 clk = ~clk;
  reg rst = 1;
  reg in_valid = 0;
  reg [15:0] in_tag = 0;
  reg signed [GSW-1:0] s = 0;
  reg signed [MW-1:0] m = 0;
  reg signed [WW-1:0] w = 0;
  reg [CW-2:0] scale_mant = 0, lr_mant = 0, mu_mant = 0;
  reg signed [SHW-1:0] scale_shift = 0, lr_shift = 0, mu_shift = 0;
  reg momentum = 0;
  wire v1, v2;
  wire [15:0] t1, t2;
  wire signed [MW-1:0] m1, m2;
  wire signed [WW-1:0] w1, w2;
  wire [2:0] o1, o2;   // the overflow flags {w, m, g}
  sgd_unit #(.TGW(16), .HALF_EVEN(1), .WRAP(0)) u_he (
    .clk(clk), .rst(rst), .in_valid(in_valid), .in_tag(in_tag), .s(s), .m(m), .w(w),
    .scale_mant(scale_mant), .scale_shift(scale_shift), .lr_mant(lr_mant), .lr_shift(lr_shift),
    .mu_mant(mu_mant), .mu_shift(mu_shift), .momentum(momentum),
    .out_valid(v1), .out_tag(t1), .m_new(m1), .w_new(w1),
    .out_ovf_g(o1[0]), .out_ovf_m(o1[1]), .out_ovf_w(o1[2]));
  sgd_unit #(.TGW(16), .HALF_EVEN(0), .WRAP(1)) u_fw (
    .clk(clk), .rst(rst), .in_valid(in_valid), .in_tag(in_tag), .s(s), .m(m), .w(w),
    .scale_mant(scale_mant), .scale_shift(scale_shift), .lr_mant(lr_mant), .lr_shift(lr_shift),
    .mu_mant(mu_mant), .mu_shift(mu_shift), .momentum(momentum),
    .out_valid(v2), .out_tag(t2), .m_new(m2), .w_new(w2),
    .out_ovf_g(o2[0]), .out_ovf_m(o2[1]), .out_ovf_w(o2[2]));

  // golden::qformat::requantize: drop sh fraction bits (floor or half-even) or shift left, then
  // saturate or wrap into wo bits; ovf: the rounded value did not fit
  function automatic signed [XW-1:0] requant(input signed [XW-1:0] v, input integer sh, input integer wo,
                                             input integer he, input integer wrap, output reg ovf);
    reg signed [XW-1:0] r, hi, lo;
    reg [XW-1:0] rem, half;
    integer k;
    begin
      if (sh >= 0) begin
        k = (sh > XW - 8) ? XW - 8 : sh;   // the values are far narrower: only the sign is left
        r = v >>> k;
        rem = v & ~({XW{1'b1}} << k);
        half = (k == 0) ? {XW{1'b0}} : ({{(XW-1){1'b0}}, 1'b1} << (k - 1));
        if (he != 0 && k != 0 && (rem > half || (rem == half && r[0]))) r = r + 1;
      end else begin
        k = (-sh > wo + 1) ? wo + 1 : -sh; // beyond wo + 1 every nonzero value overflows alike
        r = v <<< k;
      end
      hi = ({{(XW-1){1'b0}}, 1'b1} <<< (wo - 1)) - 1;
      lo = -hi - 1;
      ovf = (r > hi) || (r < lo);
      if (wrap != 0) requant = (r <<< (XW - wo)) >>> (XW - wo);
      else requant = (r > hi) ? hi : (r < lo) ? lo : r;
    end
  endfunction

  // the rows of golden::optim's datapath table (the old pipelined unit's header)
  task automatic sgd_ref(input integer he, input integer wrap, output reg signed [MW-1:0] m_o,
                         output reg signed [WW-1:0] w_o, output reg [2:0] o);
    reg signed [XW-1:0] g, t1v, msum, mn, u, wd;
    reg og, om, ou, ow;
    integer f1, z;
    begin
      g = requant($signed({{(XW-GSW){s[GSW-1]}}, s}) * $signed({{(XW-CW+1){1'b0}}, scale_mant}),
                  SUM_FRAC + scale_shift - G_F, GW, he, wrap, og);
      f1 = momentum ? M_F + mu_shift : M_F;
      z = (f1 > G_F) ? f1 : G_F;
      t1v = momentum ? $signed({{(XW-MW){m[MW-1]}}, m}) * $signed({{(XW-CW+1){1'b0}}, mu_mant}) : {XW{1'b0}};
      msum = (t1v <<< (z - f1)) + (g <<< (z - G_F));
      mn = requant(msum, z - M_F, MW, he, wrap, om);
      u = requant(mn * $signed({{(XW-CW+1){1'b0}}, lr_mant}), M_F + lr_shift - W_F, 64, he, wrap, ou);
      wd = $signed({{(XW-WW){w[WW-1]}}, w}) - u;
      m_o = mn[MW-1:0];
      w_o = requant(wd, 0, WW, he, wrap, ow);
      o = {ou || ow, om, og};   // golden::optim: Weight once per element, u or w - u
    end
  endtask

  // expected results, in order
  reg signed [MW-1:0] em1 [0:255], em2 [0:255];
  reg signed [WW-1:0] ew1 [0:255], ew2 [0:255];
  reg [2:0] eo1 [0:255], eo2 [0:255];
  integer flags [0:2];   // parameters whose flag g, m, w was set (in either mode): the test reaches them
  initial for (int c = 0; c < 3; c++) flags[c] = 0;
  reg [15:0] head1 = 0, head2 = 0;
  integer errs = 0, n = 0, got1 = 0, got2 = 0;
  always @(posedge clk) begin
    if (v1) begin
      if (t1 != head1 || m1 !== em1[head1[7:0]] || w1 !== ew1[head1[7:0]] || o1 !== eo1[head1[7:0]]) begin
        errs++;
        if (errs < 12) $display("HE/SAT MISMATCH #%0d tag %0d: m %0d (expected %0d), w %0d (expected %0d), overflows %b (expected %b)",
                                head1, t1, m1, em1[head1[7:0]], w1, ew1[head1[7:0]], o1, eo1[head1[7:0]]);
      end
      for (int c = 0; c < 3; c++) if (o1[c]) flags[c]++;
      head1 <= head1 + 1;
      got1++;
    end
    if (v2) begin
      if (t2 != head2 || m2 !== em2[head2[7:0]] || w2 !== ew2[head2[7:0]] || o2 !== eo2[head2[7:0]]) begin
        errs++;
        if (errs < 12) $display("FLOOR/WRAP MISMATCH #%0d tag %0d: m %0d (expected %0d), w %0d (expected %0d), overflows %b (expected %b)",
                                head2, t2, m2, em2[head2[7:0]], w2, ew2[head2[7:0]], o2, eo2[head2[7:0]]);
      end
      for (int c = 0; c < 3; c++) if (o2[c]) flags[c]++;
      head2 <= head2 + 1;
      got2++;
    end
  end

  function automatic signed [GSW-1:0] rand_s(input integer kind);
    case (kind)
      0: rand_s = GSW'($signed({$urandom, $urandom, $urandom}));
      1: rand_s = GSW'($signed({$urandom, $urandom, $urandom})) >>> $urandom_range(0, GSW - 1);
      2: rand_s = $urandom_range(0, 1) ? {1'b1, {(GSW-1){1'b0}}} : {1'b0, {(GSW-1){1'b1}}};
      3: rand_s = GSW'(0);
      default: rand_s = GSW'($signed($urandom_range(0, 7)) - 4) <<< $urandom_range(0, GSW - 4);
    endcase
  endfunction

  function automatic signed [MW-1:0] rand_m(input integer kind);
    case (kind)
      0: rand_m = MW'($signed({$urandom, $urandom}));
      1: rand_m = MW'($signed({$urandom, $urandom})) >>> $urandom_range(0, MW - 1);
      2: rand_m = $urandom_range(0, 1) ? {1'b1, {(MW-1){1'b0}}} : {1'b0, {(MW-1){1'b1}}};
      default: rand_m = MW'(0);
    endcase
  endfunction

  function automatic [CW-2:0] rand_mant(input integer kind);
    case (kind)
      0: rand_mant = (CW-1)'({$urandom, $urandom}) | {1'b1, {(CW-2){1'b0}}};   // as golden::optim's: the top bit set
      1: rand_mant = {1'b1, {(CW-2){1'b0}}};                         // a power of two: ties
      2: rand_mant = (CW-1)'({$urandom, $urandom}) >> $urandom_range(0, CW - 2);
      3: rand_mant = {(CW-1){1'b1}};
      default: rand_mant = (CW-1)'(0);
    endcase
  endfunction

  function automatic signed [SHW-1:0] rand_shift(input integer lo, input integer hi);
    case ($urandom_range(0, 9))
      0: rand_shift = $urandom_range(0, 1) ? SHW'(-2048) : SHW'(2047);
      1: rand_shift = SHW'($urandom_range(0, 4095));
      default: rand_shift = SHW'(lo + $urandom_range(0, hi - lo));
    endcase
  endfunction

  // golden::optim's check_sum for m mu + g: each term aligned to the finer fraction below 2^125
  function automatic integer legal_mu(input integer mu);
    integer f1, z;
    begin
      f1 = M_F + mu;
      z = (f1 > G_F) ? f1 : G_F;
      legal_mu = (MW - 1 + CW - 1 + z - f1 <= 125) && (GW - 1 + z - G_F <= 125);
    end
  endfunction

  integer interval, lat, rep, i, mu_lo, mu_hi, k;
  reg signed [MW-1:0] xm1, xm2;
  reg signed [WW-1:0] xw1, xw2;
  reg [2:0] xo1, xo2;
  initial begin
    mu_lo = 2048;
    mu_hi = -2049;
    for (k = -2048; k < 2048; k++) if (legal_mu(k)) begin
      if (k < mu_lo) mu_lo = k;
      if (k > mu_hi) mu_hi = k;
    end
    $display("sgd_unit: formats S %0d, constant %0d, g Q(%0d,%0d), m Q(%0d,%0d), w Q(%0d,%0d); momentum shifts %0d..%0d",
             GSW, CW, GW, G_F, MW, M_F, WW, W_F, mu_lo, mu_hi);
    if (u_he.GSW != GSW || u_he.CW != CW || u_he.GW != GW || u_he.G_FRAC != G_F || u_he.MW != MW
        || u_he.M_FRAC != M_F || u_he.WW != WW || u_he.W_FRAC != W_F || u_he.SUM_FRAC != SUM_FRAC)
      $fatal(1, "sgd_tb: its formats (parameters) are not the unit's");
    repeat (4) @(negedge clk);
    rst = 0;
    // the latency, from one parameter
    scale_mant = {1'b1, {(CW-2){1'b0}}}; scale_shift = 12'sd30; lr_mant = {1'b1, {(CW-2){1'b0}}}; lr_shift = 12'sd40;
    mu_mant = {2'b11, {(CW-3){1'b0}}}; mu_shift = 12'sd31; momentum = 1;
    repeat (8) @(negedge clk);
    s = GSW'(123456789); m = MW'(1000); w = WW'(100);
    sgd_ref(1, 0, xm1, xw1, xo1); em1[0] = xm1; ew1[0] = xw1; eo1[0] = xo1;
    sgd_ref(0, 1, xm2, xw2, xo2); em2[0] = xm2; ew2[0] = xw2; eo2[0] = xo2;
    in_valid = 1; in_tag = 0; n = 1;
    @(negedge clk); in_valid = 0;
    lat = 1;
    while (!v1) begin @(negedge clk); lat++; end
    interval = u_he.INTERVAL;
    $display("sgd_unit: latency %0d cycles (the unit says %0d), initiation interval %0d", lat, u_he.LATENCY, interval);
    if (lat != u_he.LATENCY) errs++;
    for (rep = 0; rep < 3000; rep++) begin
      repeat (lat + 2) @(negedge clk);        // the last parameter out, then the new constants settle
      scale_mant = rand_mant($urandom_range(0, 5) % 5);
      lr_mant = rand_mant($urandom_range(0, 5) % 5);
      mu_mant = rand_mant($urandom_range(0, 5) % 5);
      momentum = $urandom_range(0, 3) != 0;
      // realistic: scale 2^-20..2^-40 of the sum's LSB, lr ~ 2^-30, mu < 1 (shift >= 31)
      scale_shift = rand_shift(-40, 120);
      lr_shift = rand_shift(-40, 100);
      mu_shift = momentum ? SHW'(mu_lo + $urandom_range(0, mu_hi - mu_lo)) : rand_shift(-100, 100);
      repeat (6) @(negedge clk);
      for (i = 0; i < 8; i++) begin
        s = rand_s($urandom_range(0, 4));
        m = rand_m($urandom_range(0, 3));
        w = WW'($urandom);
        if ($urandom_range(0, 7) == 0) w = $urandom_range(0, 1) ? {1'b1, {(WW-1){1'b0}}} : {1'b0, {(WW-1){1'b1}}};
        sgd_ref(1, 0, xm1, xw1, xo1); em1[n % 256] = xm1; ew1[n % 256] = xw1; eo1[n % 256] = xo1;
        sgd_ref(0, 1, xm2, xw2, xo2); em2[n % 256] = xm2; ew2[n % 256] = xw2; eo2[n % 256] = xo2;
        in_valid = 1; in_tag = 16'(n); n++;
        @(negedge clk); in_valid = 0;
        repeat (interval - 1) @(negedge clk);
      end
    end
    repeat (2 * lat) @(negedge clk);
    if (got1 != n || got2 != n) begin
      $display("sgd_unit: %0d and %0d results of %0d parameters", got1, got2, n);
      errs++;
    end
    for (int c = 0; c < 3; c++) if (flags[c] == 0) begin
      $display("sgd_unit: no parameter set overflow flag %0d (g, m, w): the test does not reach it", c);
      errs++;
    end
    if (errs != 0) $fatal(1, "sgd_unit: %0d mismatches in %0d parameters", errs, n);
    $display("sgd_unit: %0d parameters in each mode, 0 mismatches; overflow flags g %0d, m %0d, w %0d times",
             n, flags[0], flags[1], flags[2]);
    $finish;
  end
endmodule
