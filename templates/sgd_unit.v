// sgd_unit: the core's one optimizer, sequential. It takes one parameter (its exact gradient sum S,
// momentum m and value w) every ${ c.sgd.interval }$ cycles and returns its new momentum and value, exactly as
// golden::optim computes SGD (the rows of its datapath table):
//
//   g  = requant(S * scale, 2F_s + scale_shift - G_F -> gradient Q(${ c.g_w }$,${ c.g_f }$))              "g"{% if c.clip %}
//   g  = requant(g * clip_mant, clip_frac -> gradient), when the clip applies (clip_on)          "g clipped"{% endif %}
//   m' = requant(m * mu << (z - f1) + g << (z - G_F), z - M_F -> moment Q(${ c.m_w }$,${ c.m_f }$))      "SGD m"
//        with f1 = M_F + mu_shift (M_F without momentum, where m * mu is 0), z = max(f1, G_F)
//   u  = requant(m' * lr, M_F + lr_shift - W_F -> 64 bits)                               "SGD update"
//   w' = sat_weight(w - u)                                                                "weight"
//
// Every constant is mant * 2^-shift, loaded by the host before UPDATE, so the shifts are run-time
// values; they hold still while the core is busy (the host cannot write a constant then). Each row
// rounds once with fixed.update_rounding (HALF_EVEN = ${ c.update_he() }$; stochastic: ${ c.update_stochastic as u8 }$; else floor) and
// overflows with fixed.overflow (WRAP = ${ c.wrap_flag() }$). u is kept in one bit more than the weight (UW), not 64: w - u saturates (or
// wraps) into the weight format alike, since a u beyond UW bits puts w - u beyond the weight's
// range on the same side.
//
// How: one signed 18 x 18 multiplier and a ${ c.sgd.digit }$-bit digit stream, two parameters in flight.
// - The multiplier walks a product's partial products column by column (product scanning): in
//   column k, limb i of the operand (17 bits unsigned, the top one signed) times limb k - i of the
//   mantissa. A ${ c.sgd.acc_w }$-bit accumulator sums a column, hands its low 17 bits to the product register
//   and carries the rest into the next column; the last column's sum is the product's top.
// - The stream rounds. Each value to round is V1 2^x1 + V2 2^x2 (V a register: a product or g; x
//   the exponent of its LSB at the result's LSB; one term but for m'). The stream walks it in
//   digits of ${ c.sgd.digit }$ bits, least significant first, on a grid that starts dd digits below the result
//   (sgd_align): each term enters at its offset (whole digits, then a funnel shift), the two add
//   with a carry from digit to digit; the digits below the result give the guard bit (the last
//   one dropped) and the sticky bit (any one below it), the next ones the result's bits, and every
//   bit from the result's top bit up whether the result fits (all copies of the sign). Then the
//   rounding up and the saturation (fxp_inc_sat), as golden::qformat::requantize does them.
//   Stochastic rounding (golden::optim, "Stochastic rounding") adds to each digit below the result
//   a fresh 32-bit word of an LFSR (its first drawn bit the word's LSB): the carry into the result
//   is the rounding up, and the result is the floor of that sum (no guard bit, no increment). The
//   stream of g draws from the gradient LFSR, those of m' and u from the update LFSR; both keep
//   their state from UPDATE to UPDATE, reset to the config's seeds and written by the host. Each
//   stream's digit count is fixed (the worst alignment), so is the whole schedule:
//
//   cycle  what, of one parameter (cycle 0: in_valid, S, m, w and the tag are registered)
//   ${ c.sgd.t_mul_g }$      S scale: ${ c.sgd.limbs_s }$ x ${ c.sgd.limbs_c }$ partial products, one a cycle; then m mu: ${ c.sgd.limbs_m }$ x ${ c.sgd.limbs_c }$, from cycle ${ c.sgd.t_mul_m }$
//   ${ c.sgd.t_stream_g }$     the stream of g: ${ c.sgd.pass_g.digits }$ digits of S scale{% if c.clip %}
//   ${ c.sgd.t_mul_c }$     g clip_mant: ${ c.sgd.limbs_s }$ x ${ c.sgd.limbs_c }$ partial products (g sign-extended to S's limbs, into S scale's register)
//   ${ c.sgd.t_stream_c }$     the stream of the clipped g: ${ c.sgd.pass_c.digits }$ digits of g clip_mant (its result taken only when clip_on){% endif %}
//   ${ c.sgd.t_stream_m }$     the stream of m': ${ c.sgd.pass_m.digits }$ digits of m mu + g (m mu left out without momentum)
//   ${ c.sgd.t_mul_u }$     m' lr: ${ c.sgd.limbs_m }$ x ${ c.sgd.limbs_c }$ partial products
//   ${ c.sgd.t_stream_u }$     the stream of u: ${ c.sgd.pass_u.digits }$ digits of m' lr
//   ${ c.sgd.t_weight }$     w - u; then its saturation into w_new, and out_valid the cycle after
//
// A product can be read 4 cycles after its last partial product (the operand, product,
// accumulator and top registers), a stream's result 4 cycles after its last digit. Latency ${ c.sgd.latency }$
// cycles. Initiation interval ${ c.sgd.interval }$: the next parameter's products and stream of g run beside the end
// of this one's (m' lr's last registers, the stream of u, w - u), never on the same register in
// the same cycle (CoreParams::sgd computes the schedule and the interval; the controller issues at
// that interval, and a parameter must not enter sooner). Two slots keep the w and the tag of the
// two parameters in flight.
// Generated by `floweqprop hdl`; edit templates/sgd_unit.v, not this file.
`default_nettype none
/* verilator lint_off DECLFILENAME */ // sgd_unit and its helpers sgd_align, sgd_term

module sgd_unit #(
    parameter integer TGW = 8,
    parameter integer HALF_EVEN = ${ c.update_he() }$,
    parameter integer WRAP = ${ c.wrap_flag() }$
) (
    input  wire                    clk,
    input  wire                    rst,
    input  wire                    in_valid,
    input  wire [TGW-1:0]          in_tag,
    input  wire signed [${ c.gs_w }$-1:0] s,
    input  wire signed [${ c.m_w }$-1:0]  m,
    input  wire signed [${ c.w_w }$-1:0]  w,
    input  wire        [${ c.c_w }$-2:0]  scale_mant,
    input  wire signed [${ c.sh_w }$-1:0] scale_shift,
    input  wire        [${ c.c_w }$-2:0]  lr_mant,
    input  wire signed [${ c.sh_w }$-1:0] lr_shift,
    input  wire        [${ c.c_w }$-2:0]  mu_mant,
    input  wire signed [${ c.sh_w }$-1:0] mu_shift,
    input  wire                    momentum,
{%- if c.clip %}
    // global-norm clipping (golden::optim "Clipping"): pass 1 of a clipped UPDATE computes g only
    // (g_valid, g_out: to the norm unit), drawing only from the gradient LFSR; in pass 2 the clip
    // applies (clip_on) with the factor clip_mant 2^-clip_frac < 1 (both held still)
    input  wire                    norm_pass,
    input  wire                    clip_on,
    input  wire        [${ c.c_w }$-2:0]  clip_mant,
    input  wire        [${ c.sh_w }$:0]   clip_frac,
    output reg                     g_valid,
{%- endif %}
{%- if c.optim_adam %}
    // Adam (adam_unit.v): each parameter's final g (clipped when the clip applies) with g_final,
    // outside pass 1, in cycle ${ c.sgd.g_ready }$ after its in_valid; the rows of m' and u here go unused
    output reg                     g_final,
{%- endif %}
{%- if c.clip || c.optim_adam %}
    output wire signed [${ c.g_w }$-1:0]  g_out,
{%- endif %}
{%- if c.update_stochastic %}
    // the LFSR states: host writes (between commands) and reads
    input  wire                    lfsr_wr_g,
    input  wire                    lfsr_wr_u,
    input  wire [31:0]             lfsr_wdata,{% if c.clip %}
    input  wire                    lfsr_save,      // the gradient LFSR's state at pass 1's start,
    input  wire                    lfsr_restore,   // back at pass 2's: g draws the same bits{% endif %}
    output reg  [31:0]             lfsr_g,
    output reg  [31:0]             lfsr_u,
{%- if c.optim_adam %}
    // the Adam unit's words (adam_unit.v, DRAW), from the update LFSR after this parameter's
    // clip row; the rows of m' and u here draw nothing
    input  wire                    adam_draw,
    output wire [31:0]             adam_word,
{%- endif %}
{%- endif %}
    output reg                     out_valid,
    output reg  [TGW-1:0]          out_tag,
    output wire signed [${ c.m_w }$-1:0]  m_new,
    output reg  signed [${ c.w_w }$-1:0]  w_new,
    // with out_valid: the parameter's roundings that overflowed (saturated or wrapped), counted by
    // golden::optim as Gradient (g), Moment (m') and Weight (u or w - u)
    output reg                     out_ovf_g,
    output reg                     out_ovf_m,
    output reg                     out_ovf_w
);
    // the core's reset, registered where it arrives (keep: one copy a unit, so the reset net of
    // the die ends in a few dozen flip-flops, not in every unit's registers); it acts here a cycle
    // after the core's root, as everywhere (core.v)
    reg rst_r;
    (* keep *) always @(posedge clk) rst_r <= rst;
    localparam integer GSW = ${ c.gs_w }$;
    localparam integer CW = ${ c.c_w }$;
    localparam integer GW = ${ c.g_w }$;
    localparam integer MW = ${ c.m_w }$;
    localparam integer WW = ${ c.w_w }$;
    localparam integer UW = WW + 1;                 // u (see above)
    localparam integer SHW = ${ c.sh_w }$;
    localparam integer XSW = SHW + 2;               // exponents derived from the shifts
    localparam integer SUM_FRAC = ${ 2 * c.s_f }$;
    localparam integer G_FRAC = ${ c.g_f }$;
    localparam integer M_FRAC = ${ c.m_f }$;
    localparam integer W_FRAC = ${ c.w_f }$;
    // the multiplier (CoreParams::sgd)
    localparam integer NA_S = ${ c.sgd.limbs_s }$;              // limbs of S
    localparam integer NA_M = ${ c.sgd.limbs_m }$;              // limbs of m and m'
    localparam integer NB = ${ c.sgd.limbs_c }$;                // limbs of a mantissa (CW bits, signed)
    localparam integer AW = ${ c.sgd.acc_w }$;               // the column accumulator
    // the stream: digit bits, and per stream the digits walked and the most ever dropped
    localparam integer DW = ${ c.sgd.digit }$;
    localparam integer NC_G = ${ c.sgd.pass_g.digits }$;
    localparam integer NC_M = ${ c.sgd.pass_m.digits }$;
    localparam integer NC_U = ${ c.sgd.pass_u.digits }$;{% if c.clip %}
    localparam integer NC_C = ${ c.sgd.pass_c.digits }$;
    localparam integer DMAX_C = ${ c.sgd.pass_c.drop_max }$;
    localparam integer T_MUL_C = ${ c.sgd.t_mul_c }$;
    localparam integer T_STREAM_C = ${ c.sgd.t_stream_c }$;{% endif %}
    localparam integer DMAX_G = ${ c.sgd.pass_g.drop_max }$;
    localparam integer DMAX_M = ${ c.sgd.pass_m.drop_max }$;
    localparam integer DMAX_U = ${ c.sgd.pass_u.drop_max }$;
    // the schedule, in cycles after in_valid
    localparam integer T_MUL_U = ${ c.sgd.t_mul_u }$;
    localparam integer T_STREAM_G = ${ c.sgd.t_stream_g }$;
    localparam integer T_STREAM_M = ${ c.sgd.t_stream_m }$;
    localparam integer T_STREAM_U = ${ c.sgd.t_stream_u }$;
    localparam integer T_WEIGHT = ${ c.sgd.t_weight }$;
    /* verilator lint_off UNUSEDPARAM */ // for testbenches (tests/hdl/sgd_tb.sv)
    localparam integer LATENCY = ${ c.sgd.latency }$;              // in_valid to out_valid
    localparam integer INTERVAL = ${ c.sgd.interval }$;             // between two in_valid, at least
    /* verilator lint_on UNUSEDPARAM */

    localparam integer LDW = $clog2(DW);
    localparam integer NC_X0 = (NC_G > NC_M) ? ((NC_G > NC_U) ? NC_G : NC_U) : ((NC_M > NC_U) ? NC_M : NC_U);{% if c.clip %}
    localparam integer NC_X = (NC_C > NC_X0) ? NC_C : NC_X0;{% else %}
    localparam integer NC_X = NC_X0;{% endif %}
    localparam integer OSW = $clog2(NC_X * DW + 1); // a term's offset in bits (beyond NC_X DW: past the stream)
    localparam integer CIW = OSW - LDW + 1;         // a digit index, or a term's offset in digits (to NC_X)
    localparam integer DDW = CIW;                   // dropped digits (at most DMAX < NC)
    localparam integer STW = $clog2(T_WEIGHT + 1);
    // the products, and streams: bit 0 clear for those in S scale's product register (g, clip)
    localparam [1:0] P_G = 2'd0, P_M = 2'd1, P_C = 2'd2, P_U = 2'd3;

    // ---- the parameters in flight: at most two, in two slots taken in turn. A slot counts its
    //      parameter's steps (cycles since its in_valid) and keeps its w and tag to the end; S and
    //      m are read by the first two products only, before the next parameter enters
    localparam integer LD_MUL_U = T_MUL_U - 1;     // the multiplier and the streams load their
    localparam integer LD_STREAM_G = T_STREAM_G - 1;   // first step in the cycle before it
    localparam integer LD_STREAM_M = T_STREAM_M - 1;
    localparam integer LD_STREAM_U = T_STREAM_U - 1;{% if c.clip %}
    localparam integer LD_MUL_C = T_MUL_C - 1;
    localparam integer LD_STREAM_C = T_STREAM_C - 1;{% endif %}
    reg nxt;                       // the slot the next parameter takes
    always @(posedge clk) begin
        if (rst_r) nxt <= 1'b0;
        else if (in_valid) nxt <= !nxt;
    end
    wire [1:0] ld_mul_u_s, ld_stream_g_s, ld_stream_m_s, ld_stream_u_s, at_weight_s;{% if c.clip %}
    wire [1:0] ld_mul_c_s, ld_stream_c_s;{% endif %}
    wire [2*WW-1:0] w_s;
    wire [2*TGW-1:0] tag_s;
    wire [7:0] ovf_s;              // per slot: the overflows of its g, m', u (and clip) streams
    reg ss_r, last_r;              // a stream's slot and its last digit, at its result (below)
    reg [1:0] sp_r;
    wire res_ovf;
    genvar gs;
    generate
        for (gs = 0; gs < 2; gs = gs + 1) begin : g_slot
            localparam [0:0] SLOT = gs;
            reg busy;
            reg [STW-1:0] st;
            reg [WW-1:0] w_r;
            reg [TGW-1:0] tag_r;
            reg [3:0] ovf_r;
            wire take = in_valid && (nxt == SLOT);
            always @(posedge clk) begin
                if (rst_r) begin
                    busy <= 1'b0;
                end else if (take) begin
                    busy <= 1'b1;
                    st <= {{(STW-1){1'b0}}, 1'b1};
                end else if (busy) begin
                    st <= st + 1'b1;
                    if (st == T_WEIGHT[STW-1:0]) busy <= 1'b0;
                end
                if (take) begin
                    w_r <= w;
                    tag_r <= in_tag;
                end
                if (take) ovf_r <= 4'b0000;
                else if (last_r && ss_r == SLOT && res_taken) ovf_r[sp_r] <= res_ovf;
            end
            // the schedule's steps, decoded a cycle early and registered (every step is past the
            // first product's 5 cycles, and a busy slot steps on to T_WEIGHT): the multiplier's and
            // the streams' loads start at flip-flops, not at the step counter's compare
            reg ld_mul_u_r, ld_stream_g_r, ld_stream_m_r, ld_stream_u_r, at_weight_r;{% if c.clip %}
            reg ld_mul_c_r, ld_stream_c_r;{% endif %}
            always @(posedge clk) begin
                ld_mul_u_r <= !rst_r && busy && (st == LD_MUL_U[STW-1:0] - 1'b1);
                ld_stream_g_r <= !rst_r && busy && (st == LD_STREAM_G[STW-1:0] - 1'b1);
                ld_stream_m_r <= !rst_r && busy && (st == LD_STREAM_M[STW-1:0] - 1'b1);
                ld_stream_u_r <= !rst_r && busy && (st == LD_STREAM_U[STW-1:0] - 1'b1);
                at_weight_r <= !rst_r && busy && (st == T_WEIGHT[STW-1:0] - 1'b1);{% if c.clip %}
                ld_mul_c_r <= !rst_r && busy && (st == LD_MUL_C[STW-1:0] - 1'b1);
                ld_stream_c_r <= !rst_r && busy && (st == LD_STREAM_C[STW-1:0] - 1'b1);{% endif %}
            end
            assign ld_mul_u_s[gs] = ld_mul_u_r;
            assign ld_stream_g_s[gs] = ld_stream_g_r;
            assign ld_stream_m_s[gs] = ld_stream_m_r;
            assign ld_stream_u_s[gs] = ld_stream_u_r;
            assign at_weight_s[gs] = at_weight_r;{% if c.clip %}
            assign ld_mul_c_s[gs] = ld_mul_c_r;
            assign ld_stream_c_s[gs] = ld_stream_c_r;{% endif %}
            assign w_s[gs*WW +: WW] = w_r;
            assign tag_s[gs*TGW +: TGW] = tag_r;
            assign ovf_s[gs*4 +: 4] = ovf_r;
        end
    endgenerate
    wire ld_mul_u = |ld_mul_u_s;
    wire ld_stream_g = |ld_stream_g_s;
    wire ld_stream_m = |ld_stream_m_s;
    wire ld_stream_u = |ld_stream_u_s;
    wire at_weight = |at_weight_s;{% if c.clip %}
    wire ld_mul_c = |ld_mul_c_s;
    wire ld_stream_c = |ld_stream_c_s;{% else %}
    wire ld_mul_c = 1'b0;
    wire ld_stream_c = 1'b0;
    wire clip_on = 1'b0;{% endif %}

    reg signed [GSW-1:0] s_r;
    reg signed [MW-1:0] m_r;
    always @(posedge clk) begin
        if (in_valid) begin
            s_r <= s;
            m_r <= m;
        end
    end

    // ---- the alignment of each stream (sgd_align), from the shifts: exponents of the terms' LSBs at
    //      the result's LSB. They hold still during UPDATE; five register stages to the streams
    //      (the first parameter arrives at least 7 cycles after the host's last constant write).
    localparam signed [XSW-1:0] X_G_SUM = G_FRAC[XSW-1:0] - SUM_FRAC[XSW-1:0];
    localparam signed [XSW-1:0] X_U_M = W_FRAC[XSW-1:0] - M_FRAC[XSW-1:0];
    localparam signed [XSW-1:0] X_MG = M_FRAC[XSW-1:0] - G_FRAC[XSW-1:0];   // g at the LSB of m'
    wire signed [XSW-1:0] scale_sx = {{2{scale_shift[SHW-1]}}, scale_shift};
    wire signed [XSW-1:0] lr_sx = {{2{lr_shift[SHW-1]}}, lr_shift};
    wire signed [XSW-1:0] mu_sx = {{2{mu_shift[SHW-1]}}, mu_shift};
    reg signed [XSW-1:0] x_g, x_mu, x_u;
    reg mom_r;
    always @(posedge clk) begin
        x_g <= X_G_SUM - scale_sx;     // S scale at the LSB of g
        x_mu <= -mu_sx;                // m mu at the LSB of m'
        x_u <= X_U_M - lr_sx;          // m' lr at the LSB of u
        mom_r <= momentum;
    end
    wire [DDW-1:0] dd_g, dd_m, dd_u;
    wire [OSW-1:0] o1_g, o1_m, o2_m, o1_u;
    /* verilator lint_off UNUSEDSIGNAL */ // g and u have one term
    wire [OSW-1:0] o2_g, o2_u;
    /* verilator lint_on UNUSEDSIGNAL */
    sgd_align #(.XSW(XSW), .LDW(LDW), .WO(GW), .DMAX(DMAX_G), .OMAX(NC_G * DW), .DDW(DDW), .OSW(OSW)) u_align_g (
        .clk(clk), .x1(x_g), .x2(x_g), .use1(1'b1), .use2(1'b0), .dd(dd_g), .o1(o1_g), .o2(o2_g)
    );
    sgd_align #(.XSW(XSW), .LDW(LDW), .WO(MW), .DMAX(DMAX_M), .OMAX(NC_M * DW), .DDW(DDW), .OSW(OSW)) u_align_m (
        .clk(clk), .x1(x_mu), .x2(X_MG), .use1(mom_r), .use2(1'b1), .dd(dd_m), .o1(o1_m), .o2(o2_m)
    );
    sgd_align #(.XSW(XSW), .LDW(LDW), .WO(UW), .DMAX(DMAX_U), .OMAX(NC_U * DW), .DDW(DDW), .OSW(OSW)) u_align_u (
        .clk(clk), .x1(x_u), .x2(x_u), .use1(1'b1), .use2(1'b0), .dd(dd_u), .o1(o1_u), .o2(o2_u)
    );{% if c.clip %}
    // g clip_mant at the LSB of the clipped g: 2^-clip_frac (set by the norm unit between the passes,
    // at least 5 cycles before pass 2's first parameter)
    reg signed [XSW-1:0] x_c;
    always @(posedge clk) x_c <= -$signed({1'b0, clip_frac});
    wire [DDW-1:0] dd_c;
    wire [OSW-1:0] o1_c;
    /* verilator lint_off UNUSEDSIGNAL */ // one term
    wire [OSW-1:0] o2_c;
    /* verilator lint_on UNUSEDSIGNAL */
    sgd_align #(.XSW(XSW), .LDW(LDW), .WO(GW), .DMAX(DMAX_C), .OMAX(NC_C * DW), .DDW(DDW), .OSW(OSW)) u_align_c (
        .clk(clk), .x1(x_c), .x2(x_c), .use1(1'b1), .use2(1'b0), .dd(dd_c), .o1(o1_c), .o2(o2_c)
    );{% else %}
    wire [DDW-1:0] dd_c = {DDW{1'b0}};
    wire [OSW-1:0] o1_c = {OSW{1'b0}};{% endif %}

    // ---- the multiplier: the walk over the partial products (cycle t: the operands' limbs)
    localparam integer NA_X = (NA_S > NA_M) ? NA_S : NA_M;
    localparam integer AXW = 17 * NA_X + 1;         // an operand sign-extended: every limb inside
    localparam integer BXW = 17 * NB + 1;
    localparam integer KW = $clog2(NA_X + NB + 1);  // a column or limb index
    localparam [KW-1:0] NB_K = NB[KW-1:0];
    localparam [KW-1:0] NA_S_K = NA_S[KW-1:0];
    localparam [KW-1:0] NA_M_K = NA_M[KW-1:0];
    localparam [KW-1:0] ONE_K = 1;
    localparam [KW-1:0] TWO_K = 2;                  // KW >= 2: NA_X, NB >= 1
    reg mul_on;
    reg [1:0] mul_p;               // the product walked
    reg [KW-1:0] mk, mi, mj;       // its column, the operand's limb, the mantissa's (mk - mi)
    reg signed [MW-1:0] mn_r;      // m', the operand of m' lr
    localparam integer VGR_W = DW * ((GW + DW - 1) / DW);
    reg signed [VGR_W-1:0] t_gr;   // g, sign-extended, shifted a digit a step in the stream of m'
    wire [KW-1:0] na = (mul_p == P_G || mul_p == P_C) ? NA_S_K : NA_M_K;
    wire [KW-1:0] mk1 = mk + ONE_K;
    wire [KW-1:0] i_lo = (mk >= NB_K) ? mk - (NB_K - ONE_K) : {KW{1'b0}};     // the column's first limb
    wire [KW-1:0] i_hi = (mk < na - ONE_K) ? mk : na - ONE_K;                 // and its last
    wire [KW-1:0] i_lo1 = (mk1 >= NB_K) ? mk1 - (NB_K - ONE_K) : {KW{1'b0}};  // the next column's first
    wire col_end = (mi == i_hi);
    wire mul_last = col_end && (mk == na + NB_K - TWO_K);
    always @(posedge clk) begin
        if (rst_r) begin
            mul_on <= 1'b0;
        end else if (in_valid || ld_mul_u || ld_mul_c) begin
            // S scale (then m mu), or m' lr, or g clip_mant
            mul_on <= 1'b1;
            mul_p <= in_valid ? P_G : ld_mul_c ? P_C : P_U;
            mk <= {KW{1'b0}};
            mi <= {KW{1'b0}};
            mj <= {KW{1'b0}};
        end else if (mul_on) begin
            if (!col_end) begin
                mi <= mi + ONE_K;
                mj <= mj - ONE_K;
            end else if (!mul_last) begin
                mk <= mk1;
                mi <= i_lo1;
                mj <= (mk1 >= NB_K) ? NB_K - ONE_K : mk1;
            end else if (mul_p == P_G) begin
                mul_p <= P_M;
                mk <= {KW{1'b0}};
                mi <= {KW{1'b0}};
                mj <= {KW{1'b0}};
            end else begin
                mul_on <= 1'b0;
            end
        end
    end
    wire signed [AXW-1:0] a_x = (mul_p == P_G) ? {{(AXW-GSW){s_r[GSW-1]}}, s_r}
                              : (mul_p == P_M) ? {{(AXW-MW){m_r[MW-1]}}, m_r}{% if c.clip %}
                              : (mul_p == P_C) ? {{(AXW-GW){t_gr[GW-1]}}, t_gr[GW-1:0]}{% endif %}
                              : {{(AXW-MW){mn_r[MW-1]}}, mn_r};
    wire [CW-2:0] mant = (mul_p == P_G) ? scale_mant : (mul_p == P_M) ? mu_mant{% if c.clip %}
                       : (mul_p == P_C) ? clip_mant{% endif %} : lr_mant;
    wire [BXW-1:0] b_x = {{(BXW-CW+1){1'b0}}, mant};
    // limb i: bits 17 i up (18 of them for the top limb, 17 unsigned below it), selected by
    // comparing with constants (no index arithmetic before the multiplier)
    reg [17:0] a_top, b_top;
    integer li;
    always @(*) begin
        a_top = 18'd0;
        b_top = 18'd0;
        for (li = 0; li < NA_X; li = li + 1) if (mi == li[KW-1:0]) a_top = a_x[17*li +: 18];
        for (li = 0; li < NB; li = li + 1) if (mj == li[KW-1:0]) b_top = b_x[17*li +: 18];
    end
    reg signed [17:0] la, lb;      // the multiplier's operand registers
    reg v_l, first_l, col_l, last_l;
    reg g_l;                       // the product goes to S scale's register (slot bit 0 clear: g, clip)
    always @(posedge clk) begin
        la <= (mi == na - ONE_K) ? a_top : {1'b0, a_top[16:0]};
        lb <= (mj == NB_K - ONE_K) ? b_top : {1'b0, b_top[16:0]};
        v_l <= mul_on && !rst_r;
        first_l <= (mk == {KW{1'b0}});
        col_l <= (mi == i_lo) && (mk != {KW{1'b0}});
        last_l <= mul_last;
        g_l <= !mul_p[0];
    end

    // the partial product's register (cycle t + 1), then the column accumulator (t + 2): a new
    // column hands the low 17 bits of the last one's sum to the product's register (sgd_term) and
    // carries the rest; after the last partial product the sum is the product's top (t + 3)
    reg signed [35:0] pp;
    reg v_p, first_p, col_p, last_p, top_a;
    reg g_p, g_a;
    always @(posedge clk) begin
        pp <= la * lb;
        v_p <= v_l && !rst_r;
        first_p <= first_l;
        col_p <= col_l;
        last_p <= last_l;
        g_p <= g_l;
    end
    reg signed [AW-1:0] acc;
    wire signed [AW-1:0] pp_x = {{(AW-36){pp[35]}}, pp};
    always @(posedge clk) begin
        if (v_p) begin
            if (first_p) acc <= pp_x;
            else if (col_p) acc <= (acc >>> 17) + pp_x;
            else acc <= acc + pp_x;
        end
        top_a <= v_p && last_p && !rst_r;
        g_a <= g_p;
    end
    wire emit = v_p && col_p;      // acc's low 17 bits are a limb of the product

    // ---- the stream's terms: S scale, then m mu or m' lr (from the multiplier), and g
    localparam integer GSX = ${ c.sgd.gsx_w }$;                // S's width{% if c.clip %}, at least g's (g clip_mant fills S scale's register){% endif %}
    localparam integer VG_W = DW * ((GSX + CW + DW - 1) / DW);
    localparam integer VMU_W = DW * ((MW + CW + DW - 1) / DW);
    /* verilator lint_off UNUSEDSIGNAL */ // the stream reads a term's low digit
    wire [VG_W-1:0] t_g;
    wire [VMU_W-1:0] t_mu;
    /* verilator lint_on UNUSEDSIGNAL */

    // a stream's settings, registered as it starts (the cycle before its first digit c = 0)
    localparam integer LAST_G = NC_G - 1;
    localparam integer LAST_M = NC_M - 1;
    localparam integer LAST_U = NC_U - 1;{% if c.clip %}
    localparam integer LAST_C = NC_C - 1;{% else %}
    localparam integer LAST_C = 0;{% endif %}
    reg s_on;                      // a stream is walking
    reg [1:0] sp;                  // which
    reg ss;                        // the slot of its parameter
    reg [CIW-1:0] sc, s_last;      // its digit, and its last
    reg use1;                      // term 1 is used (m mu is not without momentum)
    reg [CIW-1:0] q1, q2;          // the terms' offsets: whole digits
    reg [LDW-1:0] f1, f2;          // and bits
    reg [DDW-1:0] dd;              // digits below the result
    // the term has reached the grid: its digit is read this step. Term 1 is g's product in the
    // stream of g, else m mu's (m' lr's in the stream of u): one flag each, so a digit's select is
    // two registers, not the stream's decode, in front of the funnel shifter
    reg act_g, act_mu, act2;
    wire ld_stream = ld_stream_g || ld_stream_m || ld_stream_u || ld_stream_c;
    wire ld_in_g = ld_stream_g || ld_stream_c;     // term 1 in S scale's product register
    wire [OSW-1:0] o1_n = ld_stream_g ? o1_g : ld_stream_c ? o1_c : ld_stream_m ? o1_m : o1_u;
    wire use1_n = !ld_stream_m || mom_r;
    wire [CIW-1:0] q1_n = {1'b0, o1_n[OSW-1:LDW]};
    wire [CIW-1:0] q2_n = {1'b0, o2_m[OSW-1:LDW]};
    wire [CIW-1:0] sc1 = sc + 1'b1;
    always @(posedge clk) begin
        if (rst_r) begin
            s_on <= 1'b0;
            act_g <= 1'b0;
            act_mu <= 1'b0;
            act2 <= 1'b0;
        end else if (ld_stream) begin
            s_on <= 1'b1;
            sp <= ld_stream_g ? P_G : ld_stream_c ? P_C : ld_stream_m ? P_M : P_U;
            ss <= ld_stream_g ? ld_stream_g_s[1]{% if c.clip %} : ld_stream_c ? ld_stream_c_s[1]{% endif %}
                : ld_stream_m ? ld_stream_m_s[1] : ld_stream_u_s[1];
            sc <= {CIW{1'b0}};
            s_last <= ld_stream_g ? LAST_G[CIW-1:0] : ld_stream_c ? LAST_C[CIW-1:0]
                    : ld_stream_m ? LAST_M[CIW-1:0] : LAST_U[CIW-1:0];
            use1 <= use1_n;
            q1 <= q1_n;
            f1 <= o1_n[LDW-1:0];
            q2 <= q2_n;
            f2 <= o2_m[LDW-1:0];
            dd <= ld_stream_g ? dd_g : ld_stream_c ? dd_c : ld_stream_m ? dd_m : dd_u;
            act_g <= ld_in_g && use1_n && (q1_n == {CIW{1'b0}});
            act_mu <= !ld_in_g && use1_n && (q1_n == {CIW{1'b0}});
            act2 <= ld_stream_m && (q2_n == {CIW{1'b0}});
        end else if (s_on) begin
            sc <= sc1;
            if (sc == s_last) s_on <= 1'b0;
            act_g <= (sc != s_last) && !sp[0] && use1 && (sc1 >= q1);
            act_mu <= (sc != s_last) && sp[0] && use1 && (sc1 >= q1);
            act2 <= (sc != s_last) && (sp == P_M) && (sc1 >= q2);
        end
    end
    sgd_term #(.LOW(17 * (NA_S + NB - 2)), .VW(VG_W), .AW(AW), .DW(DW)) u_term_g (
        .clk(clk), .emit(emit && g_p), .limb(acc[16:0]), .top(top_a && g_a), .acc(acc),
        .shift(act_g), .v(t_g)
    );
    sgd_term #(.LOW(17 * (NA_M + NB - 2)), .VW(VMU_W), .AW(AW), .DW(DW)) u_term_mu (
        .clk(clk), .emit(emit && !g_p), .limb(acc[16:0]), .top(top_a && !g_a), .acc(acc),
        .shift(act_mu), .v(t_mu)
    );
    wire [DW-1:0] hi1 = ({DW{act_g}} & t_g[DW-1:0]) | ({DW{act_mu}} & t_mu[DW-1:0]);
    wire [DW-1:0] hi2 = act2 ? t_gr[DW-1:0] : {DW{1'b0}};

{%- if c.update_stochastic %}
    // c + 1: the random word of a digit below the result (c < dd), from the stream's LFSR, which
    // then steps 32 times (lfsr_word: both unrolled)
    reg [DW-1:0] ar;{% if c.clip %}
    // pass 1 draws for g only; the clip's stream draws only when its result is taken{% if c.optim_adam %}
    wire draw = s_on && (sc < dd) && (sp == P_G || (!norm_pass && sp == P_C && clip_on));{% else %}
    wire draw = s_on && (sc < dd) && (sp == P_G || (!norm_pass && (sp != P_C || clip_on)));{% endif %}
    reg [31:0] lfsr_g_saved;
    always @(posedge clk) if (lfsr_save) lfsr_g_saved <= lfsr_g;{% else %}
    wire draw = s_on && (sc < dd){% if c.optim_adam %} && (sp == P_G){% endif %};{% endif %}
    wire [63:0] word_g = lfsr_word(lfsr_g);
    wire [63:0] word_u = lfsr_word(lfsr_u);
    always @(posedge clk) begin
        if (rst_r) begin
            lfsr_g <= 32'h${ c.lfsr_seed_hex[0] }$;
            lfsr_u <= 32'h${ c.lfsr_seed_hex[1] }$;
        end else begin
            if (lfsr_wr_g) lfsr_g <= lfsr_wdata;{% if c.clip %}
            else if (lfsr_restore) lfsr_g <= lfsr_g_saved;{% endif %}
            else if (draw && sp == P_G) lfsr_g <= word_g[63:32];
            if (lfsr_wr_u) lfsr_u <= lfsr_wdata;
            else if (draw && sp != P_G) lfsr_u <= word_u[63:32];{% if c.optim_adam %}
            else if (adam_draw) lfsr_u <= word_u[63:32];{% endif %}
        end
        ar <= !draw ? {DW{1'b0}} : (sp == P_G) ? word_g[31:0] : word_u[31:0];
    end
    localparam integer CYW = 2;    // the digit sum's carry: three words and a carry{% if c.optim_adam %}
    assign adam_word = word_u[31:0];{% endif %}
{%- else %}
    wire [DW-1:0] ar = {DW{1'b0}}; // no random words: floor and half-even
    localparam integer CYW = 1;
{%- endif %}

    // c + 1: each term's digit at the grid (its digit and the one below, funnel-shifted by the
    // offset's low bits); a term before its offset is 0, and so is the digit below a stream's
    // first (a stream may follow the one before without a gap)
    reg [DW-1:0] lo1, lo2, a1, a2;
    /* verilator lint_off UNUSEDSIGNAL */ // the funnel keeps the upper digit
    wire [2*DW-1:0] fun1 = {hi1, lo1} << f1;
    wire [2*DW-1:0] fun2 = {hi2, lo2} << f2;
    /* verilator lint_on UNUSEDSIGNAL */
    reg v_a, last_a;
    reg [CIW-1:0] c_a;
    reg [1:0] sp_a;
    reg ss_a;
    reg [DDW-1:0] dd_a;
    always @(posedge clk) begin
        lo1 <= ld_stream ? {DW{1'b0}} : hi1;
        lo2 <= ld_stream ? {DW{1'b0}} : hi2;
        a1 <= fun1[2*DW-1:DW];
        a2 <= fun2[2*DW-1:DW];
        v_a <= s_on && !rst_r;
        last_a <= (sc == s_last);
        c_a <= sc;
        sp_a <= sp;
        ss_a <= ss;
        dd_a <= dd;
    end

    // c + 2: the digit of the sum, with the carry of the digit below
    reg [DW-1:0] dg;
    reg [CYW-1:0] cy;
    reg v_d, last_d;
    wire [DW+CYW-1:0] dsum = {{CYW{1'b0}}, a1} + {{CYW{1'b0}}, a2} + {{CYW{1'b0}}, ar}
                           + {{DW{1'b0}}, cy & {CYW{c_a != {CIW{1'b0}}}}};
    reg [CIW-1:0] c_d;
    reg [1:0] sp_d;
    reg ss_d;
    reg [DDW-1:0] dd_d;
    always @(posedge clk) begin
        dg <= dsum[DW-1:0];
        cy <= dsum[DW +: CYW];
        v_d <= v_a && !rst_r;
        last_d <= last_a;
        c_d <= c_a;
        sp_d <= sp_a;
        ss_d <= ss_a;
        dd_d <= dd_a;
    end

    // c + 3: the digit's part in the result. Below the result: the sticky bit, and the guard bit
    // (the top bit of the last digit dropped); then the result's digits (KR_G, KR_M, KR_U); from the
    // result's top bit up, whether every bit copies the sign
    localparam integer KR_G = (GW + DW - 1) / DW;
    localparam integer KR_M = (MW + DW - 1) / DW;
    localparam integer KR_U = (UW + DW - 1) / DW;
    localparam integer KR_X = (KR_G > KR_M) ? ((KR_G > KR_U) ? KR_G : KR_U) : ((KR_M > KR_U) ? KR_M : KR_U);
    // the result's bits from its top bit up (fits: all copies of the sign), and from the bit above
    // it up (for the overflow flag: a floor of MIN - 1, which rounds back in), each as the digit
    // that holds the first bit and that digit's mask (bit_mask), the stream's own
    wire [CIW+DW-1:0] top_at = !sp_d[0] ? bit_mask(GW - 1) : (sp_d == P_M) ? bit_mask(MW - 1) : bit_mask(UW - 1);
    wire [CIW+DW-1:0] above_at = !sp_d[0] ? bit_mask(GW) : (sp_d == P_M) ? bit_mask(MW) : bit_mask(UW);
    wire first_d = (c_d == {CIW{1'b0}});
    wire [CIW:0] c_d1 = {1'b0, c_d} + 1'b1;
    wire dropped = (c_d1 < {1'b0, dd_d});            // wholly below the guard bit
    wire guard_here = (c_d1 == {1'b0, dd_d});
    wire kept = (c_d >= dd_d);
    wire [CIW-1:0] k = c_d - dd_d;                   // the result's digit
    wire [DW-1:0] fit_mask = digit_mask(kept, k, top_at);
    wire [DW-1:0] hi_mask = digit_mask(kept, k, above_at);
    /* verilator lint_off UNUSEDSIGNAL */ // bits above the widest result
    reg [KR_X*DW-1:0] r;           // the floor's low digits
    /* verilator lint_on UNUSEDSIGNAL */
    reg guard, sticky, all_ones, all_zeros, hi_ones, sign;
    always @(posedge clk) begin
        sp_r <= sp_d;
        ss_r <= ss_d;
        if (v_d) begin
            sticky <= (!first_d && sticky) || (dropped && |dg) || (guard_here && |dg[DW-2:0]);
            guard <= guard_here ? dg[DW-1] : (!first_d && guard);
            all_ones <= (first_d || all_ones) && &(dg | ~fit_mask);
            all_zeros <= (first_d || all_zeros) && !(|(dg & fit_mask));
            hi_ones <= (first_d || hi_ones) && &(dg | ~hi_mask);
            sign <= dg[DW-1];
        end
        last_r <= v_d && last_d && !rst_r;
    end
    genvar gk;
    generate
        for (gk = 0; gk < KR_X; gk = gk + 1) begin : g_digit
            localparam [CIW-1:0] GK = gk;
            always @(posedge clk) if (v_d && kept && k == GK) r[gk*DW +: DW] <= dg;
        end
    endgenerate

    // c + 4: round up (the guard bit, and a sticky bit or an odd floor: half-even), saturate or
    // wrap; the result to its register
    wire up = (HALF_EVEN != 0) && guard && (sticky || r[0]);
    wire fits = sign ? all_ones : all_zeros;
    wire [GW-1:0] g_q;
    wire [MW-1:0] m_q;
    wire [UW-1:0] u_q;
    wire min_m1 = sign && hi_ones;   // with the low bits 0111..1 (fxp_inc_sat): MIN - 1
    wire ovf_g, ovf_m, ovf_u;
    fxp_inc_sat #(.WO(GW), .WRAP(WRAP)) u_round_g (
        .lo(r[GW-1:0]), .up(up), .fits(fits), .neg(sign), .min_m1(min_m1), .q(g_q), .ovf(ovf_g)
    );
    fxp_inc_sat #(.WO(MW), .WRAP(WRAP)) u_round_m (
        .lo(r[MW-1:0]), .up(up), .fits(fits), .neg(sign), .min_m1(min_m1), .q(m_q), .ovf(ovf_m)
    );
    fxp_inc_sat #(.WO(UW), .WRAP(WRAP)) u_round_u (
        .lo(r[UW-1:0]), .up(up), .fits(fits), .neg(sign), .min_m1(min_m1), .q(u_q), .ovf(ovf_u)
    );
    assign res_ovf = !sp_r[0] ? ovf_g : (sp_r == P_M) ? ovf_m : ovf_u;
    wire res_taken = (sp_r != P_C) || clip_on;     // the clip's result when it applies
    reg signed [UW-1:0] u_r;
    always @(posedge clk) begin
        if (last_r && !sp_r[0] && res_taken) t_gr <= {{(VGR_W-GW){g_q[GW-1]}}, g_q};
        else if (act2) t_gr <= t_gr >>> DW;
        if (last_r && sp_r == P_M) mn_r <= m_q;
        if (last_r && sp_r == P_U) u_r <= u_q;
    end
    assign m_new = mn_r;{% if c.clip %}
    // pass 1: each g to the norm unit, as it lands in t_gr
    always @(posedge clk) g_valid <= !rst_r && norm_pass && last_r && sp_r == P_G;{% endif %}{% if c.optim_adam %}
    // the final g: after the clip's stream (clipping), or g's
    always @(posedge clk) g_final <= !rst_r{% if c.clip %} && !norm_pass && sp_r == P_C{% else %} && sp_r == P_G{% endif %} && last_r;{% endif %}{% if c.clip || c.optim_adam %}
    assign g_out = t_gr[GW-1:0];{% endif %}
{%- if c.update_stochastic %}

    // 32 steps of the LFSR (golden::qformat::Lfsr): {the state after them, the 32 bits drawn,
    // step i's at bit i}
    function automatic [63:0] lfsr_word(input [31:0] s0);
        reg [31:0] st, bits;
        integer i;
        begin
            st = s0;
            for (i = 0; i < 32; i = i + 1) begin
                bits[i] = st[0];
                st = (st >> 1) ^ (st[0] ? 32'h80200003 : 32'h0);
            end
            lfsr_word = {st, bits};
        end
    endfunction
{%- endif %}

    // ---- w' = sat(w - u), then the outputs
    wire signed [WW-1:0] w_now = at_weight_s[1] ? w_s[WW +: WW] : w_s[0 +: WW];
    reg signed [WW+1:0] wd;
    reg v_w, slot_w;
    wire signed [WW-1:0] w_q;
    always @(posedge clk) begin
        if (at_weight) wd <= {{2{w_now[WW-1]}}, w_now} - {u_r[UW-1], u_r};
        v_w <= at_weight && !rst_r;
        slot_w <= at_weight_s[1];
    end
    fxp_sat #(.WI(WW + 2), .WO(WW), .WRAP(WRAP)) u_w_sat (.v(wd), .q(w_q));
    wire w_fits;
    fxp_fits #(.WI(WW + 2), .WO(WW)) u_w_fits (.v(wd), .fits(w_fits));
    wire [3:0] ovf_w = slot_w ? ovf_s[4 +: 4] : ovf_s[0 +: 4];
    always @(posedge clk) begin
        if (rst_r) out_valid <= 1'b0;
        else out_valid <= v_w;
        if (v_w) begin
            w_new <= w_q;
            out_tag <= slot_w ? tag_s[TGW +: TGW] : tag_s[0 +: TGW];
            {out_ovf_w, out_ovf_m, out_ovf_g} <= {ovf_w[P_U] || !w_fits, ovf_w[P_M], ovf_w[P_G] || ovf_w[P_C]};
        end
    end
    // bit b of a result: {the digit that holds it, that digit's bits from b up}
    /* verilator lint_off UNUSEDSIGNAL */ // a digit index fits CIW bits
    function automatic [CIW+DW-1:0] bit_mask(input integer b);
        integer d;
        begin
            d = b / DW;
            bit_mask = {d[CIW-1:0], {DW{1'b1}} << (b % DW)};
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    // the bits of result digit k (kept: at or above the result's LSB) from the bit of at up
    function automatic [DW-1:0] digit_mask(input kept_i, input [CIW-1:0] k_i, input [CIW+DW-1:0] at);
        digit_mask = !kept_i ? {DW{1'b0}} : (k_i == at[CIW+DW-1:DW]) ? at[DW-1:0]
                   : (k_i > at[CIW+DW-1:DW]) ? {DW{1'b1}} : {DW{1'b0}};
    endfunction
endmodule

// sgd_align: where the terms V1 2^x1 and V2 2^x2 of a stream enter its grid of DW-bit digits (x:
// the exponent of V's LSB at the result's LSB; a term is used or not). The grid starts at base,
// a multiple of DW at or below every used term's x, or 0 when none lies below the result: dd =
// -base / DW digits lie below the result, clamped at DMAX (beyond which the result no longer
// changes: CoreParams's StreamPass); a term sits o = x - base bits above the grid's start. A term
// shifted left by more than WO bits overflows when nonzero and leaves the result's bits 0, so the
// terms' common left shift is clamped at WO (exact); an o beyond OMAX (past the stream: outside
// golden::optim's bounds) is clamped there. The shifts hold still; four register stages.
module sgd_align #(
    parameter integer XSW = 14,
    parameter integer LDW = 5,
    parameter integer WO = 32,
    parameter integer DMAX = 4,
    parameter integer OMAX = 160,
    parameter integer DDW = 4,
    parameter integer OSW = 8
) (
    input  wire                  clk,
    input  wire signed [XSW-1:0] x1,
    input  wire signed [XSW-1:0] x2,
    input  wire                  use1,
    input  wire                  use2,
    output reg  [DDW-1:0]        dd,
    output reg  [OSW-1:0]        o1,
    output reg  [OSW-1:0]        o2
);
    localparam signed [XSW-1:0] WO_X = WO[XSW-1:0];
    localparam signed [XSW-1:0] DMAX_X = DMAX[XSW-1:0];
    localparam signed [XSW-1:0] NEG_DMAX_X = -DMAX_X;
    localparam signed [XSW+1:0] OMAX_X = OMAX[XSW+1:0];
    // the finer used term
    reg signed [XSW-1:0] xa, xb, xmin;
    always @(posedge clk) begin
        xa <= x1;
        xb <= x2;
        xmin <= (!use2 || (use1 && x1 < x2)) ? x1 : x2;
    end
    // the grid's start and the digits dropped (floor(xmin / DW) is xmin's top bits)
    wire signed [XSW-1:0] floor_d = xmin >>> LDW;
    wire [DDW-1:0] drop = {DDW{1'b0}} - floor_d[DDW-1:0];          // -floor_d when it fits
    wire signed [XSW-1:0] over = xmin - WO_X;
    reg signed [XSW-1:0] base, xa2, xb2;
    always @(posedge clk) begin
        base <= (xmin < 0) ? {xmin[XSW-1:LDW], {LDW{1'b0}}} : (xmin > WO_X) ? over : {XSW{1'b0}};
        dd <= (xmin >= 0) ? {DDW{1'b0}} : (floor_d < NEG_DMAX_X) ? DMAX_X[DDW-1:0] : drop;
        xa2 <= xa;
        xb2 <= xb;
    end
    // each term's offset, then clamped
    reg signed [XSW+1:0] oa, ob;
    always @(posedge clk) begin
        oa <= {{2{xa2[XSW-1]}}, xa2} - {{2{base[XSW-1]}}, base};
        ob <= {{2{xb2[XSW-1]}}, xb2} - {{2{base[XSW-1]}}, base};
    end
    always @(posedge clk) begin
        o1 <= (oa < 0) ? {OSW{1'b0}} : (oa > OMAX_X) ? OMAX_X[OSW-1:0] : oa[OSW-1:0];
        o2 <= (ob < 0) ? {OSW{1'b0}} : (ob > OMAX_X) ? OMAX_X[OSW-1:0] : ob[OSW-1:0];
    end
endmodule

// sgd_term: a product register of the stream. The multiplier's accumulator fills it: emit puts a
// limb (the low 17 bits of a column's sum) in, the limbs arriving least significant first; top
// puts the last column's sum above them, sign-extended. Then each shift moves it a DW-bit digit
// down (sign copies in), once per digit the stream takes from it (its low DW bits).
module sgd_term #(
    parameter integer LOW = 51,    // bits of the limbs below the top: 17 per column but the last
    parameter integer VW = 96,     // a multiple of DW, at least the product's width
    parameter integer AW = 38,
    parameter integer DW = 32
) (
    input  wire          clk,
    input  wire          emit,
    /* verilator lint_off UNUSEDSIGNAL */ // a product of one column has no limb below its top
    input  wire [16:0]   limb,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire          top,
    input  wire [AW-1:0] acc,
    input  wire          shift,
    output reg  [VW-1:0] v
);
    wire [VW-LOW-1:0] top_x;
    fxp_sat #(.WI(AW), .WO(VW - LOW), .WRAP(1)) u_top (.v(acc), .q(top_x));
    wire [VW-1:0] shifted = $signed(v) >>> DW;
    generate
        if (LOW > 0) begin : g_limbs
            /* verilator lint_off UNUSEDSIGNAL */ // the limbs move down by 17 bits
            wire [LOW+16:0] limbs_in = {limb, v[LOW-1:0]};
            /* verilator lint_on UNUSEDSIGNAL */
            always @(posedge clk) begin
                if (emit) v[LOW-1:0] <= limbs_in[LOW+16:17];
                else if (top) v[VW-1:LOW] <= top_x;
                else if (shift) v <= shifted;
            end
        end else begin : g_top
            always @(posedge clk) begin
                if (top) v <= top_x;
                else if (shift) v <= shifted;
            end
        end
    endgenerate
endmodule

`default_nettype wire
