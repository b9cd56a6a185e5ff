`default_nettype none
// tests/hdl/pipe_tb.sv: mul_pipe of templates/pipe.v against a plain signed multiply, on random
// operands with the most negative ones (make hdl-unit). Exits non-zero on any mismatch. (The
// optimizer's requantizer, once requant_pipe here, is sgd_unit.v's stream: tests/hdl/sgd_tb.sv.)
module tb;
  reg clk = 0; always #5 clk = ~clk;
  reg vi = 0; reg [31:0] ti;
  reg signed [39:0] ma; reg signed [31:0] mb; wire mv; wire [31:0] mt; wire signed [71:0] mp;
  mul_pipe #(.WA(40), .WB(32), .TW(32)) um (.clk(clk), .vi(vi), .ti(ti), .a(ma), .b(mb), .vo(mv), .to(mt), .p(mp));
  reg signed [71:0] expm [0:255];
  integer errs = 0, n = 0, gotm = 0;
  always @(posedge clk) begin
    if (mv) begin if (mp !== expm[mt[7:0]]) begin errs++; if (errs < 10) $display("M mism %0d got %0d exp %0d", mt, mp, expm[mt[7:0]]); end gotm++; end
  end
  initial begin
    for (int rep = 0; rep < 400; rep++) begin
      @(negedge clk); vi = 0;
      repeat (12) @(negedge clk);
      for (int i = 0; i < 64; i++) begin
        @(negedge clk);
        ma = 40'($signed({$urandom, $urandom})); mb = $signed($urandom);
        if (i % 3 == 0) ma = ma >>> $urandom_range(0, 39);
        if (i % 5 == 0) begin ma = -40'sd549755813888; end
        if (i % 7 == 0) begin mb = 32'h80000000; end
        vi = 1; ti = 32'(n % 256);
        expm[n%256] = 72'(ma) * 72'(mb);
        n++;
      end
      @(negedge clk); vi = 0;
      repeat (40) @(negedge clk);
    end
    $display("pipe_tb: %0d inputs; answers: mul %0d; %0d mismatches", n, gotm, errs);
    if (errs != 0 || gotm != n) $fatal(1, "pipe_tb: FAILED");
    $display("pipe_tb: PASS");
    $finish;
  end
endmodule
