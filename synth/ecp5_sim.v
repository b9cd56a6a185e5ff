// Simulation models of the ECP5 cells in a synth_ecp5 netlist (make cosim-netlist), for Verilator.
// Yosys 0.70's own models (share/ecp5/common_sim.vh, included below) compute LUT4, PFUMX, L6MUX21,
// CCU2C, TRELLIS_FF and TRELLIS_DPR16X4; its DP16KD is an empty blackbox (share/ecp5/cells_sim.v)
// and MULT18X18D has no model at all (only share/ecp5/cells_bb.v), so those two are modelled here,
// in the configurations that Yosys's own maps emit (share/lattice/brams_map_16kd.v,
// dsp_map_18x18.v). Any other configuration stops the simulation rather than being simulated wrongly.
`include "common_sim.vh"
`include "ccu2c_sim.vh"

// what the DP16KD models count over the whole run, reported once at the end
package ecp5_sim;
    longint unsigned collisions = 0;
    bit reported = 1'b0;
endpackage

// DP16KD, the 18 kbit block RAM, with both ports on one clock, chip selects decoded as 0b000,
// resets held low, each port's output NOREG (the read's latch, as Yosys maps it) or OUTREG (a
// register after the latch, loaded every clock its OCE is high: synth/absorb_regs.py; in 36-bit mode
// both halves follow port B's), and either
//   - DATA_WIDTH 18 on both ports (Yosys's $__DP16KD_): 1024 words of 18 bits at AD[13:4], AD[1:0]
//     enabling the two 9-bit bytes of a write (with WE and CE); read data per WRITEMODE on a write
//     (NORMAL keeps, WRITETHROUGH gives the new word, READBEFOREWRITE the old one); or
//   - DATA_WIDTH 36 on both ports (Yosys's $__PDPW16KD_): port A writes, port B reads 512 words of
//     36 bits at AD[13:5]; ADA[3:0] enable the four 9-bit bytes; the word is {DIB, DIA} written and
//     {DOB, DOA} read, as Yosys's map has it (nextpnr's own PDPW16KD-to-DP16KD conversion puts the low
//     half of the read on DOB instead: the two disagree, and this model follows Yosys).
// INITVAL_xx holds 16 words of 18 bits, word i at [20i +: 18] (Yosys's init_slice). A read of the
// bytes the other port writes in the same cycle is undefined in Yosys's description (memory_libmap
// adds logic around the block when the RTL defines it), so it reads the inverted old data (and bytes
// both ports write get inverted data), and the run's count of such cycles is printed at its end: a
// netlist that depended on them would mismatch.
module DP16KD(
    input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
    input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
    input CEA, OCEA, CLKA, WEA, RSTA,
    input CSA2, CSA1, CSA0,
    output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
    input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
    input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
    input CEB, OCEB, CLKB, WEB, RSTB,
    input CSB2, CSB1, CSB0,
    output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    parameter DATA_WIDTH_A = 18;
    parameter DATA_WIDTH_B = 18;
    parameter REGMODE_A = "NOREG";
    parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC";
    parameter ASYNC_RESET_RELEASE = "SYNC";
    parameter CSDECODE_A = "0b000";
    parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL";
    parameter WRITEMODE_B = "NORMAL";
    parameter CLKAMUX = "CLKA";
    parameter CLKBMUX = "CLKB";
    parameter WID = 0;
    parameter GSR = "ENABLED";
    parameter INIT_DATA = "STATIC";
    parameter [319:0] INITVAL_00 = 0, INITVAL_01 = 0, INITVAL_02 = 0, INITVAL_03 = 0, INITVAL_04 = 0, INITVAL_05 = 0,
        INITVAL_06 = 0, INITVAL_07 = 0, INITVAL_08 = 0, INITVAL_09 = 0, INITVAL_0A = 0, INITVAL_0B = 0, INITVAL_0C = 0,
        INITVAL_0D = 0, INITVAL_0E = 0, INITVAL_0F = 0, INITVAL_10 = 0, INITVAL_11 = 0, INITVAL_12 = 0, INITVAL_13 = 0,
        INITVAL_14 = 0, INITVAL_15 = 0, INITVAL_16 = 0, INITVAL_17 = 0, INITVAL_18 = 0, INITVAL_19 = 0, INITVAL_1A = 0,
        INITVAL_1B = 0, INITVAL_1C = 0, INITVAL_1D = 0, INITVAL_1E = 0, INITVAL_1F = 0, INITVAL_20 = 0, INITVAL_21 = 0,
        INITVAL_22 = 0, INITVAL_23 = 0, INITVAL_24 = 0, INITVAL_25 = 0, INITVAL_26 = 0, INITVAL_27 = 0, INITVAL_28 = 0,
        INITVAL_29 = 0, INITVAL_2A = 0, INITVAL_2B = 0, INITVAL_2C = 0, INITVAL_2D = 0, INITVAL_2E = 0, INITVAL_2F = 0,
        INITVAL_30 = 0, INITVAL_31 = 0, INITVAL_32 = 0, INITVAL_33 = 0, INITVAL_34 = 0, INITVAL_35 = 0, INITVAL_36 = 0,
        INITVAL_37 = 0, INITVAL_38 = 0, INITVAL_39 = 0, INITVAL_3A = 0, INITVAL_3B = 0, INITVAL_3C = 0, INITVAL_3D = 0,
        INITVAL_3E = 0, INITVAL_3F = 0;

    localparam [20479:0] INITVAL = {INITVAL_3F, INITVAL_3E, INITVAL_3D, INITVAL_3C, INITVAL_3B, INITVAL_3A,
        INITVAL_39, INITVAL_38, INITVAL_37, INITVAL_36, INITVAL_35, INITVAL_34, INITVAL_33, INITVAL_32, INITVAL_31,
        INITVAL_30, INITVAL_2F, INITVAL_2E, INITVAL_2D, INITVAL_2C, INITVAL_2B, INITVAL_2A, INITVAL_29, INITVAL_28,
        INITVAL_27, INITVAL_26, INITVAL_25, INITVAL_24, INITVAL_23, INITVAL_22, INITVAL_21, INITVAL_20, INITVAL_1F,
        INITVAL_1E, INITVAL_1D, INITVAL_1C, INITVAL_1B, INITVAL_1A, INITVAL_19, INITVAL_18, INITVAL_17, INITVAL_16,
        INITVAL_15, INITVAL_14, INITVAL_13, INITVAL_12, INITVAL_11, INITVAL_10, INITVAL_0F, INITVAL_0E, INITVAL_0D,
        INITVAL_0C, INITVAL_0B, INITVAL_0A, INITVAL_09, INITVAL_08, INITVAL_07, INITVAL_06, INITVAL_05, INITVAL_04,
        INITVAL_03, INITVAL_02, INITVAL_01, INITVAL_00};
    localparam W36 = DATA_WIDTH_A == 36;

    wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
    wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
    wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
    wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
    reg [17:0] doa = 18'd0, dob = 18'd0;          // the read latches
    reg [17:0] doa_r = 18'd0, dob_r = 18'd0;      // the output registers (OUTREG)
    localparam OUT_A = REGMODE_A == "OUTREG", OUT_B = REGMODE_B == "OUTREG";
    assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = OUT_A ? doa_r : doa;
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = OUT_B ? dob_r : dob;
    always @(posedge CLKA) begin
        if (W36 ? OCEB : OCEA) doa_r <= doa;
        if (OCEB) dob_r <= dob;
    end

    reg [17:0] mem [0:1023];   // 18-bit words; a 36-bit word k is {mem[2k+1], mem[2k]}
    integer i;
    initial begin
        if (!((DATA_WIDTH_A == 18 && DATA_WIDTH_B == 18) || (DATA_WIDTH_A == 36 && DATA_WIDTH_B == 36))
            || !(REGMODE_A == "NOREG" || REGMODE_A == "OUTREG") || !(REGMODE_B == "NOREG" || REGMODE_B == "OUTREG")
            || (W36 && REGMODE_A != REGMODE_B) || CSDECODE_A != "0b000" || CSDECODE_B != "0b000"
            || CLKAMUX != "CLKA" || CLKBMUX != "CLKB")
            $fatal(1, "DP16KD %m: configuration not modelled (synth/ecp5_sim.v)");
        for (i = 0; i < 1024; i = i + 1) mem[i] = INITVAL[i*20 +: 18];
    end

    // each port's selection and its write's byte enables, over the two 18-bit words of a 36-bit
    // word in x36 mode (bytes 1:0 of the lower word, 3:2 of the upper); word address in 18-bit words
    wire sel_a = CEA && {CSA2, CSA1, CSA0} == 3'b000;
    wire sel_b = CEB && {CSB2, CSB1, CSB0} == 3'b000;
    wire [9:0] wa = W36 ? {ada[13:5], 1'b0} : ada[13:4];
    wire [9:0] wb = W36 ? {adb[13:5], 1'b0} : adb[13:4];
    wire [3:0] be_a = !(sel_a && WEA) ? 4'd0 : W36 ? ada[3:0] : {2'b00, ada[1:0]};
    wire [3:0] be_b = !(sel_b && WEB) || W36 ? 4'd0 : {2'b00, adb[1:0]};
    function [35:0] bytes(input [3:0] be);   // the bits of a 36-bit word that byte enables cover
        bytes = {{9{be[3]}}, {9{be[2]}}, {9{be[1]}}, {9{be[0]}}};
    endfunction
    wire [35:0] old_a = {mem[wa | 10'd1], mem[wa]};
    wire [35:0] old_b = {mem[wb | 10'd1], mem[wb]};
    wire [35:0] msk_a = bytes(be_a), msk_b = bytes(be_b);
    wire [35:0] new_a = (old_a & ~msk_a) | ({dib, dia} & msk_a);
    wire [35:0] new_b = (old_b & ~msk_b) | ({18'd0, dib} & msk_b);
    // the bytes of the word that the other port writes in this cycle (none when the words differ)
    wire [35:0] hit_a = wa == wb ? msk_b : 36'd0;
    wire [35:0] hit_b = wa == wb ? msk_a : 36'd0;
    wire [35:0] both = hit_a & hit_b;   // bytes both ports write
    // this block RAM's own count, printed with its instance path at the end (the netlist's names
    // say which memory of the RTL it holds)
    longint unsigned own_collisions = 0;
    time first_t = 0;
    integer first_w = 0;
    final begin
        if (own_collisions != 0)
            $display("ecp5_sim: %m: %0d collision cycles, the first at %0t (word %0d)", own_collisions, first_t, first_w);
        if (!ecp5_sim::reported) begin
            ecp5_sim::reported = 1'b1;
            $display("ecp5_sim: %0d block RAM cycles read or wrote bytes that the other port wrote (undefined): data inverted",
                     ecp5_sim::collisions);
        end
    end

    always @(posedge CLKA) begin
        if (RSTA || RSTB) $fatal(1, "DP16KD %m: RST asserted: the output reset is not modelled");
        // one clock for both ports, or port B unused (disabled: a single-port ROM)
        if (CLKA !== CLKB && CEB !== 1'b0) $fatal(1, "DP16KD %m: the two ports have different clocks: not modelled");
        if (W36 && WEB && sel_b) $fatal(1, "DP16KD %m: a write on port B in 36-bit mode");
        if (sel_a && !W36) begin
            if (WEA)
                doa <= WRITEMODE_A == "WRITETHROUGH" ? new_a[17:0] : WRITEMODE_A == "READBEFOREWRITE" ? old_a[17:0] : doa;
            else
                doa <= old_a[17:0] ^ hit_a[17:0];
        end
        if (sel_b) begin
            if (W36)
                {dob, doa} <= old_b ^ hit_b;
            else if (WEB)
                dob <= WRITEMODE_B == "WRITETHROUGH" ? new_b[17:0] : WRITEMODE_B == "READBEFOREWRITE" ? old_b[17:0] : dob;
            else
                dob <= old_b[17:0] ^ hit_b[17:0];
        end
        if ((sel_a && !W36 && !WEA && |hit_a) || (sel_b && !WEB && |hit_b) || |both) begin
            ecp5_sim::collisions = ecp5_sim::collisions + 1;
            if (own_collisions == 0) begin
                first_t = $time;
                first_w = wa;
            end
            own_collisions = own_collisions + 1;
        end
        if (be_a != 4'd0 && be_b != 4'd0 && wa == wb) begin   // x18: both ports write one word
            mem[wa] <= ((new_a[17:0] & msk_a[17:0]) | (new_b[17:0] & ~msk_a[17:0])) ^ both[17:0];
        end else begin
            if (be_a[1:0] != 2'd0) mem[wa] <= new_a[17:0];
            if (be_a[3:2] != 2'd0) mem[wa | 10'd1] <= new_a[35:18];
            if (be_b != 4'd0) mem[wb] <= new_b[17:0];
        end
    end
endmodule

// MULT18X18D, the 18 x 18 multiplier, as Yosys's $__MUL18X18 map uses it (no register) or with
// the input registers of A and B and the output register on CLK0, CE0, RST0 (synth/absorb_regs.py;
// each loads every clock CE0 is high), no pipeline register, SOURCEA and SOURCEB low (the A and B
// inputs, not the shift chain); P is the 36-bit product of A and B, each signed when its
// SIGNEDA/SIGNEDB is high.
module MULT18X18D(
    input A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0,
    input B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0,
    input C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0,
    input SIGNEDA, SIGNEDB, SOURCEA, SOURCEB,
    input CLK3, CLK2, CLK1, CLK0, CE3, CE2, CE1, CE0, RST3, RST2, RST1, RST0,
    output P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18,
    output P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0
);
    parameter REG_INPUTA_CLK = "NONE";
    parameter REG_INPUTA_CE = "CE0";
    parameter REG_INPUTA_RST = "RST0";
    parameter REG_INPUTB_CLK = "NONE";
    parameter REG_INPUTB_CE = "CE0";
    parameter REG_INPUTB_RST = "RST0";
    parameter REG_INPUTC_CLK = "NONE";
    parameter REG_INPUTC_CE = "CE0";
    parameter REG_INPUTC_RST = "RST0";
    parameter REG_PIPELINE_CLK = "NONE";
    parameter REG_PIPELINE_CE = "CE0";
    parameter REG_PIPELINE_RST = "RST0";
    parameter REG_OUTPUT_CLK = "NONE";
    parameter REG_OUTPUT_CE = "CE0";
    parameter REG_OUTPUT_RST = "RST0";
    parameter CLK0_DIV = "ENABLED";
    parameter CLK1_DIV = "ENABLED";
    parameter CLK2_DIV = "ENABLED";
    parameter CLK3_DIV = "ENABLED";
    parameter HIGHSPEED_CLK = "NONE";
    parameter GSR = "ENABLED";
    parameter CAS_MATCH_REG = "FALSE";
    parameter SOURCEB_MODE = "B_SHIFT";
    parameter MULT_BYPASS = "DISABLED";
    parameter RESETMODE = "SYNC";

    localparam REG_A = REG_INPUTA_CLK == "CLK0", REG_B = REG_INPUTB_CLK == "CLK0", REG_P = REG_OUTPUT_CLK == "CLK0";
    initial
        if (!(REG_A || REG_INPUTA_CLK == "NONE") || !(REG_B || REG_INPUTB_CLK == "NONE")
            || !(REG_P || REG_OUTPUT_CLK == "NONE") || REG_PIPELINE_CLK != "NONE" || MULT_BYPASS != "DISABLED"
            || (REG_A && (REG_INPUTA_CE != "CE0" || REG_INPUTA_RST != "RST0"))
            || (REG_B && (REG_INPUTB_CE != "CE0" || REG_INPUTB_RST != "RST0"))
            || (REG_P && (REG_OUTPUT_CE != "CE0" || REG_OUTPUT_RST != "RST0")))
            $fatal(1, "MULT18X18D %m: configuration not modelled (synth/ecp5_sim.v)");

    wire [17:0] a_in = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
    wire [17:0] b_in = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
    reg [17:0] a_r = 18'd0, b_r = 18'd0;
    reg [35:0] p_r = 36'd0;
    wire [17:0] a = REG_A ? a_r : a_in;
    wire [17:0] b = REG_B ? b_r : b_in;
    // one more bit each: the sign when signed, a zero when not
    wire signed [37:0] p = $signed({SIGNEDA & a[17], a}) * $signed({SIGNEDB & b[17], b});
    always @(posedge CLK0) begin
        if ((REG_A || REG_B || REG_P) && RST0 === 1'b1) $fatal(1, "MULT18X18D %m: RST0 asserted: not modelled");
        if (CE0) begin
            a_r <= a_in;
            b_r <= b_in;
            p_r <= p[35:0];
        end
    end
    assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18,
            P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = REG_P ? p_r : p[35:0];
    always @(SOURCEA or SOURCEB)
        if (SOURCEA === 1'b1 || SOURCEB === 1'b1) $fatal(1, "MULT18X18D %m: SOURCEA/SOURCEB (shift chain) not modelled");
endmodule
