`default_nettype none
// tests/hdl/adam_tb.sv: the Adam unit (templates/adam_unit.v, tiny's: gradient Q(32,24), moment
// Q(32,24), second moment Q(32,30), weight Q(16,14), 32-bit constants, half-even) against a plain
// reference of golden::optim's Adam rows (make hdl-unit): adam_moment, second_moment, adam_update
// (isqrt, the divider with 15 guard bits and a sticky bit, one rounding) and apply, in 128-bit
// arithmetic. Random parameters and constants (shifts anywhere the unit accepts, as long as
// golden::optim's exact sums fit 125 bits, as it checks), and the edges: the most negative g, m
// and v, v = 0 and negative (read as 1 LSB), m' = 0, quotients that saturate the weight, eps 0.
// out_valid must come exactly LATENCY cycles after g_valid (the unit's own localparam, which
// AdamParams::latency sets) and in no other cycle. Exits non-zero on any mismatch.
module tb;
  localparam integer GW = 32, G_F = 24, MW = 32, M_F = 24, VW = 32, V_F = 30, WW = 16, W_F = 14;
  localparam integer CW = 32, SHW = 12, EPSW = 34, QB = 32, SHIFT_MAX = 62, QS_MAX = 65;

  reg clk = 0;
  always #5 clk = ~clk;
  reg rst = 1, in_valid = 0, g_valid = 0;
  reg [7:0] in_tag = 0;
  reg signed [MW-1:0] m = 0;
  reg signed [VW-1:0] v = 0;
  reg signed [WW-1:0] w = 0;
  reg signed [GW-1:0] g = 0;
  reg [CW-2:0] b1m = 0, omb1m = 0, b2m = 0, omb2m = 0, lrtm = 0, c2m = 0;
  reg signed [SHW-1:0] b1s = 0, omb1s = 0, b2s = 0, omb2s = 0, lrts = 0, c2s = 0;
  reg [EPSW-1:0] eps = 0;
  wire out_valid, ovf_m, ovf_v, ovf_w;
  wire [7:0] out_tag;
  wire signed [MW-1:0] m_new;
  wire signed [VW-1:0] v_new;
  wire signed [WW-1:0] w_new;
  adam_unit #(.TGW(8)) dut (
    .clk(clk), .rst(rst), .in_valid(in_valid), .in_tag(in_tag), .m(m), .v(v), .w(w),
    .g_valid(g_valid), .g(g),
    .b1_mant(b1m), .b1_shift(b1s), .omb1_mant(omb1m), .omb1_shift(omb1s),
    .b2_mant(b2m), .b2_shift(b2s), .omb2_mant(omb2m), .omb2_shift(omb2s),
    .lrt_mant(lrtm), .lrt_shift(lrts), .c2_mant(c2m), .c2_shift(c2s), .eps(eps),
    .out_valid(out_valid), .out_tag(out_tag), .m_new(m_new), .v_new(v_new), .w_new(w_new),
    .out_ovf_m(ovf_m), .out_ovf_v(ovf_v), .out_ovf_w(ovf_w));

  // ---- the reference (golden::optim, golden::qformat::requantize with half-even, saturate)
  typedef logic signed [127:0] i128;
  function automatic i128 round_he(input i128 x, input integer drop);
    i128 fl, rem, half;
    begin
      if (drop == 0) round_he = x;
      else begin
        fl = x >>> drop;
        rem = x - (fl <<< drop);
        half = i128'(1) <<< (drop - 1);
        round_he = fl + ((rem > half || (rem == half && fl[0])) ? 1 : 0);
      end
    end
  endfunction
  // requantize to a w-bit result: {overflowed, value}
  function automatic i128 fit(input i128 x, input integer wo, output reg ovf);
    i128 hi, lo;
    begin
      hi = (i128'(1) <<< (wo - 1)) - 1;
      lo = -(i128'(1) <<< (wo - 1));
      ovf = (x > hi) || (x < lo);
      fit = (x > hi) ? hi : (x < lo) ? lo : x;
    end
  endfunction
  `include "isqrt.svh"
  // the larger of the two aligned terms' bits (golden::optim::check_sum, before its + 3)
  function automatic integer need(input integer b1, input integer f1, input integer b2, input integer f2);
    integer z, n1, n2;
    begin
      z = (f1 > f2) ? f1 : f2;
      n1 = b1 + z - f1;
      n2 = b2 + z - f2;
      need = (n1 > n2) ? n1 : n2;
    end
  endfunction

  reg signed [MW-1:0] want_m;
  reg signed [VW-1:0] want_v;
  reg signed [WW-1:0] want_w;
  reg want_om, want_ov, want_ow;
  task automatic reference();
    i128 t1, t2, sum, x, num, den, q, mag, u;
    reg [127:0] root, n;
    integer f1, f2, z, qs;
    reg o, sticky;
    begin
      f1 = M_F + b1s; f2 = G_F + omb1s; z = (f1 > f2) ? f1 : f2;
      t1 = i128'(m) * i128'({1'b0, b1m}); t2 = i128'(g) * i128'({1'b0, omb1m});
      sum = (t1 <<< (z - f1)) + (t2 <<< (z - f2));
      x = fit(round_he(sum, z - M_F), MW, o); want_m = x[MW-1:0]; want_om = o;
      f1 = V_F + b2s; f2 = 2 * G_F + omb2s; z = (f1 > f2) ? f1 : f2;
      t1 = i128'(v) * i128'({1'b0, b2m}); t2 = i128'(g) * i128'(g) * i128'({1'b0, omb2m});
      sum = (t1 <<< (z - f1)) + (t2 <<< (z - f2));
      x = fit(round_he(sum, z - V_F), VW, o); want_v = x[VW-1:0]; want_ov = o;
      n = (want_v < 1) ? 128'd1 : 128'(want_v);
      root = isqrt(n << V_F);
      den = i128'(root) * i128'({1'b0, c2m}) + i128'({1'b0, eps});
      num = i128'(want_m);
      if (num < 0) num = -num;
      num = num * i128'({1'b0, lrtm});
      qs = W_F + 15 + V_F + c2s - M_F - lrts;
      q = (num <<< qs) / den;
      sticky = ((num <<< qs) % den) != 0;
      if (q >= (i128'(1) <<< QB)) begin
        want_w = (want_m < 0) ? {1'b0, {(WW-1){1'b1}}} : {1'b1, {(WW-1){1'b0}}};
        want_ow = 1;
      end else begin
        mag = (q <<< 1) | i128'(sticky);
        u = round_he(want_m < 0 ? -mag : mag, 16);
        x = fit(i128'(w) - u, WW, o); want_w = x[WW-1:0]; want_ow = o;
      end
    end
  endtask

  integer errors = 0, cases = 0, sat_m = 0, sat_v = 0, sat_w = 0, lat = -1;
  task automatic run();
    integer t;
    reg seen;
    begin
      reference();
      // constants first (the unit's alignments take two cycles), then the parameter, then g
      repeat (3) @(negedge clk);
      in_valid = 1; in_tag = cases[7:0];
      @(negedge clk); in_valid = 0; m = $random; v = $random; w = $random;
      repeat (cases % 4) @(negedge clk);
      g_valid = 1;
      @(negedge clk); g_valid = 0; g = $random;
      seen = 0;
      for (t = 1; t <= 2 * dut.LATENCY; t = t + 1) begin
        if (out_valid) begin
          if (t != dut.LATENCY || seen) begin
            $display("MISMATCH case %0d: out_valid %0d cycles after g_valid (want %0d, once)", cases, t, dut.LATENCY);
            errors = errors + 1;
          end
          seen = 1;
          lat = t;
          if (m_new !== want_m || v_new !== want_v || w_new !== want_w || out_tag !== cases[7:0]
              || {ovf_m, ovf_v, ovf_w} !== {want_om, want_ov, want_ow}) begin
            $display("MISMATCH case %0d: m' %0d v' %0d w' %0d ovf %b%b%b; want %0d %0d %0d %b%b%b",
                     cases, m_new, v_new, w_new, ovf_m, ovf_v, ovf_w, want_m, want_v, want_w, want_om, want_ov, want_ow);
            errors = errors + 1;
          end
        end
        @(negedge clk);
      end
      if (!seen) begin
        $display("MISMATCH case %0d: no out_valid", cases);
        errors = errors + 1;
      end
      sat_m = sat_m + want_om; sat_v = sat_v + want_ov; sat_w = sat_w + want_ow;
      cases = cases + 1;
    end
  endtask

  // a mantissa filling CW - 1 bits, and a shift such that golden::optim's sums fit
  function automatic [CW-2:0] mant();
    mant = {1'b1, 30'd0} | ($unsigned($random) & 31'h3fffffff);
  endfunction
  function automatic integer shift(input integer lo, input integer hi);
    shift = lo + ($unsigned($random) % (hi - lo + 1));
  endfunction
  // golden::optim's limits: each aligned term below 2^125, 0 <= qs <= QS_MAX, eps below 2^EPSW
  function automatic integer fits();
    integer qs;
    begin
      qs = W_F + 15 + V_F + c2s - M_F - lrts;
      fits = need(MW - 1 + CW - 1, M_F + b1s, GW - 1 + CW - 1, G_F + omb1s) <= 125
          && need(VW - 1 + CW - 1, V_F + b2s, 2 * (GW - 1) + CW - 1, 2 * G_F + omb2s) <= 125
          && qs >= 0 && qs <= QS_MAX && c2s <= CW - 2;
    end
  endfunction

  // Adam's constants of step t with lr, betas 0.9, 0.95 (shifts of golden::optim's Constant)
  task automatic paper_constants();
    begin
      b1m = 31'd1932735283; b1s = 31;    // 0.9
      omb1m = 31'd1717986918; omb1s = 34; // 0.1
      b2m = 31'd2040109466; b2s = 31;    // 0.95
      omb2m = 31'd1717986918; omb2s = 35; // 0.05
      lrtm = 31'd1374389535; lrts = 37;  // 0.01
      c2m = 31'd1200479854; c2s = 28;    // 1 / sqrt(0.05)
      eps = 34'd2882303762;              // 1e-8 2^58
    end
  endtask

  integer c, amp;
  initial begin
    repeat (4) @(negedge clk);
    rst = 0;
    paper_constants();
    // the edges
    m = 0; v = 0; w = 0; g = 0; run();                                             // all zero
    g = {1'b1, {(GW-1){1'b0}}}; run();                                            // most negative g
    m = {1'b1, {(MW-1){1'b0}}}; v = {1'b1, {(VW-1){1'b0}}}; w = {1'b1, {(WW-1){1'b0}}}; run();
    m = {1'b0, {(MW-1){1'b1}}}; v = {1'b0, {(VW-1){1'b1}}}; w = {1'b0, {(WW-1){1'b1}}}; g = -g + 1; run();
    m = 1000; v = 0; g = 0; run();                                                 // v' = 0: 1 LSB
    v = -5; run();                                                                 // negative v
    lrts = 0; lrtm = {1'b1, 30'd0}; c2s = 0; c2m = 31'd1 << 30; m = 1 << 24; run(); // q saturates
    m = -m; run();
    eps = 0; run();
    // u = +2^17 exactly (q just below 2^QB, rounded up), which is not a sign bit: w - u saturates
    // low. Betas 1 and 0 keep m' = m and v' = v; v = 1.0 gives root 2^30, so with lr_t = c2 = 1
    // (mantissa 2^30) q = |m| 2^(qs - 30) = |m| 2^5 in tiny's formats: m = 2^27 - 1, q = 2^32 - 32
    b1m = 31'd1 << 30; b1s = 30; omb1m = 0; omb1s = 0; b2m = 31'd1 << 30; b2s = 30; omb2m = 0; omb2s = 0;
    lrtm = 31'd1 << 30; lrts = 0; c2m = 31'd1 << 30; c2s = 0; eps = 0;
    m = (1 << 27) - 1; v = 1 << V_F; w = 0; g = 0; run();
    m = -m; run();
    paper_constants();
    // random: Adam's constants with a random lr and step, and random formats' values
    for (c = 0; c < 3000; c = c + 1) begin
      amp = $unsigned($random) % 32;
      m = $signed($random) >>> amp;
      v = $unsigned($random) >> ($unsigned($random) % 32);
      if (c % 13 == 0) v = -v;
      w = $random;
      g = $signed($random) >>> ($unsigned($random) % 32);
      if (c % 3 == 0) begin
        paper_constants();
        do begin
          lrts = shift(31, SHIFT_MAX); lrtm = mant();
          c2s = shift(0, CW - 2); c2m = mant();
        end while (!fits());
      end else begin
        do begin
          b1m = mant(); b1s = shift(0, SHIFT_MAX);
          omb1m = mant(); omb1s = shift(0, SHIFT_MAX);
          b2m = mant(); b2s = shift(0, SHIFT_MAX);
          omb2m = mant(); omb2s = shift(0, SHIFT_MAX);
          lrtm = mant(); lrts = shift(0, SHIFT_MAX);
          c2m = mant(); c2s = shift(0, CW - 2);
          if (c % 5 == 0) begin b1m = b1m >> ($unsigned($random) % 31); lrtm = lrtm >> ($unsigned($random) % 31); end
        end while (!fits());
        eps = {$random, $random} & ((34'd1 << ($unsigned($random) % EPSW)) - 1);
      end
      run();
    end
    $display("adam_unit: %0d cases, latency %0d (the unit says %0d); saturated m' %0d, v' %0d, w' %0d; %0d mismatches",
             cases, lat, dut.LATENCY, sat_m, sat_v, sat_w, errors);
    if (errors != 0 || sat_m < 10 || sat_v < 10 || sat_w < 10 || cases - sat_w < 1000) begin
      $display("adam_tb: FAIL");
      $fatal(1, "adam_tb: %0d mismatches", errors);
    end
    $display("adam_tb: PASS");
    $finish;
  end
endmodule
`default_nettype wire
