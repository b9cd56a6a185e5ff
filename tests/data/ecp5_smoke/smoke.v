// The ECP5 flow's test design (make fpga-smoke): one block RAM and one multiplier, registered
// like the core's memories and datapath must be. A 512 x 36 memory with a synchronous read port
// (one DP16KD in its 512 x 36 pseudo-dual-port mode) and a signed 16 x 16 multiply with
// registered operands and product (one MULT18X18D). nextpnr-ecp5's report of it is committed
// as tests/data/ecp5_smoke/nextpnr_report.json, which src/report/fpga.rs parses in its tests.
module smoke (
    input  wire               clk,
    input  wire               we,
    input  wire        [ 8:0] waddr,
    input  wire        [35:0] wdata,
    input  wire        [ 8:0] raddr,
    output reg         [35:0] rdata,
    input  wire signed [15:0] a,
    input  wire signed [15:0] b,
    output reg  signed [31:0] p
);
    reg [35:0] mem [0:511];
    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        rdata <= mem[raddr];
    end

    reg signed [15:0] ar, br;
    always @(posedge clk) begin
        ar <= a;
        br <= b;
        p  <= ar * br;
    end
endmodule
