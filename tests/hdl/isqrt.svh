// tests/hdl/isqrt.svh: golden::optim::isqrt, digit by digit: the testbenches' reference of the
// floor of a square root (`include inside a module: norm_tb, adam_tb).
  function automatic [127:0] isqrt(input [127:0] n);
    reg [127:0] rest, root, b;
    begin
      rest = n; root = 0; b = 128'd1 << 126;
      while (b > n) b = b >> 2;
      while (b != 0) begin
        if (rest >= root + b) begin rest = rest - (root + b); root = (root >> 1) + b; end
        else root = root >> 1;
        b = b >> 2;
      end
      isqrt = root;
    end
  endfunction
