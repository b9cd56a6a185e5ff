`default_nettype none
// tests/hdl/pipe_tb.sv: the pipelined units of templates/pipe.v against plain references, on
// random operands and shifts (make hdl-unit): requant_pipe against the optimizer's former
// combinational `requant` (half-even + saturate and floor + wrap, right and left shifts, shifts
// past the width, values at the saturation boundaries), mul_pipe against a plain signed multiply
// (with the most negative operands), shl_pipe against a plain shift. Exits non-zero on any mismatch.
module tb;
  localparam integer WI = 80, WO = 32, OW = 128, XW = OW + 66;
  reg clk = 0; always #5 clk = ~clk;
  reg signed [13:0] sh;
  reg vi = 0; reg [31:0] ti; reg signed [WI-1:0] v;
  wire vo; wire [31:0] to; wire signed [WO-1:0] q;
  requant_pipe #(.WI(WI), .WO(WO), .SHW(14), .HALF_EVEN(1), .WRAP(0), .TW(32)) u (.clk(clk), .sh(sh), .vi(vi), .ti(ti), .v(v), .vo(vo), .to(to), .q(q));
  wire vo2; wire [31:0] to2; wire signed [WO-1:0] q2;
  requant_pipe #(.WI(WI), .WO(WO), .SHW(14), .HALF_EVEN(0), .WRAP(1), .TW(32)) u2 (.clk(clk), .sh(sh), .vi(vi), .ti(ti), .v(v), .vo(vo2), .to(to2), .q(q2));
  reg signed [39:0] ma; reg signed [31:0] mb; wire mv; wire [31:0] mt; wire signed [71:0] mp;
  mul_pipe #(.WA(40), .WB(32), .TW(32)) um (.clk(clk), .vi(vi), .ti(ti), .a(ma), .b(mb), .vo(mv), .to(mt), .p(mp));
  reg [6:0] ls; wire lv; wire [31:0] lt; wire signed [127:0] lq;
  shl_pipe #(.WI(WI), .WO(128), .SHW(7), .TW(32)) ul (.clk(clk), .sh(ls), .vi(vi), .ti(ti), .v(v), .vo(lv), .to(lt), .q(lq));
  function automatic signed [XW-1:0] requant(input signed [OW-1:0] v, input integer sh, input integer wo, input integer he, input integer wrap);
        reg signed [XW-1:0] x; reg signed [XW-1:0] r; reg signed [XW-1:0] hi; reg signed [XW-1:0] lo;
        reg [XW-1:0] rem; reg [XW-1:0] half; integer k;
        begin
            x = {{(XW-OW){v[OW-1]}}, v};
            if (sh >= 0) begin
                k = (sh > OW + 1) ? OW + 1 : sh;
                r = x >>> k;
                rem = x & ~({XW{1'b1}} << k);
                half = (k == 0) ? {XW{1'b0}} : ({{(XW-1){1'b0}}, 1'b1} << (k - 1));
                if (he != 0 && k != 0 && (rem > half || (rem == half && r[0]))) r = r + 1;
            end else begin
                k = (-sh > wo + 1) ? wo + 1 : -sh;
                r = x <<< k;
            end
            hi = ({{(XW-1){1'b0}}, 1'b1} <<< (wo - 1)) - 1;
            lo = -hi - 1;
            if (wrap != 0) requant = (r <<< (XW - wo)) >>> (XW - wo);
            else requant = (r > hi) ? hi : (r < lo) ? lo : r;
        end
  endfunction
  reg signed [WO-1:0] exp1 [0:255]; reg signed [WO-1:0] exp2 [0:255]; reg signed [71:0] expm [0:255]; reg signed [127:0] expl [0:255];
  integer errs = 0, n = 0, got = 0, gotm = 0, gotl = 0, got2 = 0;
  reg signed [XW-1:0] tmp;
  always @(posedge clk) begin
    if (vo) begin if (q !== exp1[to[7:0]]) begin errs++; if (errs < 10) $display("R1 mism %0d sh=%0d got %0d exp %0d", to, sh, q, exp1[to[7:0]]); end got++; end
    if (vo2) begin if (q2 !== exp2[to2[7:0]]) begin errs++; if (errs < 10) $display("R2 mism %0d", to2); end got2++; end
    if (mv) begin if (mp !== expm[mt[7:0]]) begin errs++; if (errs < 10) $display("M mism %0d got %0d exp %0d", mt, mp, expm[mt[7:0]]); end gotm++; end
    if (lv) begin if (lq !== expl[lt[7:0]]) begin errs++; if (errs < 10) $display("L mism %0d", lt); end gotl++; end
  end
  initial begin
    for (int rep = 0; rep < 400; rep++) begin
      @(negedge clk); vi = 0;
      case (rep % 8)
        0: sh = 14'($urandom_range(0, 40));
        1: sh = -14'($urandom_range(0, 40));
        2: sh = 14'($urandom_range(70, 140));
        3: sh = 14'(rep % 20);
        4: sh = -14'($urandom_range(30, 200));
        default: sh = 14'($urandom_range(0, 90));
      endcase
      ls = 7'($urandom_range(0, 47));
      repeat (12) @(negedge clk);
      for (int i = 0; i < 64; i++) begin
        @(negedge clk);
        case ($urandom_range(0, 4))
          0: v = WI'($signed({$urandom, $urandom, $urandom}));
          // the saturation boundaries: around (2^(WO-1) - 1) 2^sh and -2^(WO-1) 2^sh, where a
          // rounding up crosses into (or back from) the range
          4: if (sh >= 0 && sh <= 40)
               v = ((($urandom_range(0,1)==1) ? -(WI'(1) <<< (WO-1)) : ((WI'(1) <<< (WO-1)) - 1)) <<< sh)
                   + WI'($signed(WI'($urandom_range(0, 4 << sh)) - WI'(2 << sh)));
             else v = WI'($signed($urandom));
          1: v = WI'($signed($urandom)) >>> $urandom_range(0, 31);
          2: v = (WI'(1) <<< $urandom_range(0, 70)) * (($urandom_range(0,1)==1) ? -1 : 1);
          default: v = WI'($signed({$urandom, $urandom, $urandom})) >>> $urandom_range(0, 79);
        endcase
        ma = 40'($signed({$urandom, $urandom})); mb = $signed($urandom);
        if (i % 5 == 0) begin ma = -40'sd549755813888; end
        if (i % 7 == 0) begin mb = 32'h80000000; end
        vi = 1; ti = 32'(n % 256);
        tmp = requant(OW'(v), sh, WO, 1, 0); exp1[n%256] = tmp[WO-1:0];
        tmp = requant(OW'(v), sh, WO, 0, 1); exp2[n%256] = tmp[WO-1:0];
        expm[n%256] = 72'(ma) * 72'(mb);
        expl[n%256] = 128'(v) <<< ls;
        n++;
      end
      @(negedge clk); vi = 0;
      repeat (40) @(negedge clk);
    end
    $display("pipe_tb: %0d inputs; answers: requant %0d + %0d, mul %0d, shl %0d; %0d mismatches", n, got, got2, gotm, gotl, errs);
    if (errs != 0 || got != n || got2 != n || gotm != n || gotl != n) $fatal(1, "pipe_tb: FAILED");
    $display("pipe_tb: PASS");
    $finish;
  end
endmodule
