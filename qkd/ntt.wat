;; Number-theoretic transforms modulo the prime P = 25 * 2^22 + 1 for exact Toeplitz hashing
;; (qkd/toeplitz.ts drives them). Source of truth for qkd/ntt-wasm.ts: after editing, run
;; `npm run build:ntt`; a test fails while the two differ.
;;
;; Exactness. Residues are u32 lanes of i32x4 vectors, lazily reduced: each function states the
;; bound its values keep, and every sum below stays under 16P < 2^32, so no lane wraps.
;; - Shoup's product by a constant w < P with w' = floor(w 2^32 / P) precomputed (tables, J,
;;   the final scale): for any x < 2^32, q = floor(x w' / 2^32) satisfies x w / P - 2 < q <= x w / P
;;   (w' > w 2^32 / P - 1 and x < 2^32), so r = x w - q P lies in [0, 2P). r < 2^32, hence the
;;   wrapping i32x4.mul products give it exactly; q is the high half of the 64-bit x w'
;;   (i64x2.extmul_low/high_i32x4_u, odd 32-bit lanes gathered by one shuffle).
;; - The pointwise product of two transformed values a, b < 4P (no precomputed companion) is a
;;   signed Montgomery reduction: t = a b < 16P^2 < P 2^31, m = t P^-1 mod 2^32 read as a signed
;;   32-bit m, so t and m P agree in their low 32 bits and u = (t - m P) / 2^32 is the exact
;;   difference of their high halves; |m P| <= 2^31 P puts u in (-P, P), and u = a b 2^-32 mod P.
;;   The factor 2^-32 is undone with the final scale.
;; - A conditional subtraction of c from x < 2c is i32x4.min_u(x, x - c): x - c wraps above x
;;   exactly when x < c.
;; - Scalar set-up arithmetic (roots, companions, scale) uses 64-bit products and division.
;; No floating-point operation appears anywhere.
;;
;; Layout. Transforms run in place on arrays of n = 2^k >= 16 residues. The forward transform
;; is decimation in frequency: for odd k a radix-2 stage first, then radix-4 stages of quarter
;; q = n4 / 4, ..., 4, 1 (n4 = n or n / 2); its output is in digit-reversed order and, within each
;; 16 residues, transposed as a 4 x 4 matrix (the quarter-1 butterflies run across vectors). The
;; inverse is the exact transpose of the forward transform, stage by stage in reverse order; as
;; the NTT matrix F is symmetric, it computes F on the natural order, i.e. F (F a .* F b) =
;; n (a * b) read at -i mod n. Stages whose butterflies span more than $BLOCK residues sweep the
;; whole array; the others run block by block so that each block stays in cache.
;;
;; Memory: bytes [0, 128) hold the table address of each radix-4 stage by log2 q, [128, 256) that
;; of each radix-2 stage by log2 n, tables follow from 256 on, and the caller's scratch space
;; starts where `prepare` says. Radix-4 tables hold, per 4 consecutive k, the vectors w^k, (w^k)',
;; w^2k, (w^2k)', w^3k, (w^3k)' (96 bytes), w a primitive 4q-th root of unity; radix-2 tables hold
;; w^k, (w^k)' for k < n / 2 (32 bytes per 4), w a primitive n-th root.
(module
  (memory (export "memory") 1)

  (global $top (mut i32) (i32.const 256))
  (global $generator (mut i32) (i32.const 0))
  ;; J, a primitive 4th root of unity, which every radix-4 butterfly multiplies by, and J'.
  (global $J (mut i32) (i32.const 0))
  (global $Jc (mut i32) (i32.const 0))
  ;; Residues per block: 64 KiB of one array, which leaves room in the L2 cache for the tables.
  (global $BLOCK i32 (i32.const 16384))

  (func $mulmod (param $a i32) (param $b i32) (result i32)
    (i32.wrap_i64 (i64.rem_u
      (i64.mul (i64.extend_i32_u (local.get $a)) (i64.extend_i32_u (local.get $b)))
      (i64.const 104857601))))

  (func $powmod (param $base i32) (param $e i32) (result i32)
    (local $r i32)
    (local.set $r (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $e)))
        (if (i32.and (local.get $e) (i32.const 1))
          (then (local.set $r (call $mulmod (local.get $r) (local.get $base)))))
        (local.set $base (call $mulmod (local.get $base) (local.get $base)))
        (local.set $e (i32.shr_u (local.get $e) (i32.const 1)))
        (br $next)))
    (local.get $r))

  ;; Shoup's companion w' = floor(w 2^32 / P).
  (func $companion (param $w i32) (result i32)
    (i32.wrap_i64 (i64.div_u
      (i64.shl (i64.extend_i32_u (local.get $w)) (i64.const 32))
      (i64.const 104857601))))

  ;; A primitive root of unity of the given order (a power of two up to 2^22).
  (func $root (param $order i32) (result i32)
    (call $powmod (global.get $generator) (i32.div_u (i32.const 104857600) (local.get $order))))

  ;; The smallest generator of the multiplicative group (P - 1 = 2^22 5^2).
  (func $findGenerator (result i32)
    (local $g i32)
    (local.set $g (i32.const 2))
    (loop $next
      (if (i32.and
            (i32.ne (call $powmod (local.get $g) (i32.const 52428800)) (i32.const 1))
            (i32.ne (call $powmod (local.get $g) (i32.const 20971520)) (i32.const 1)))
        (then (return (local.get $g))))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $next))
    (unreachable))

  ;; Grows the memory to hold `end` bytes.
  (func $ensure (export "ensure") (param $end i32)
    (local $pages i32)
    (local.set $pages (i32.sub
      (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
      (memory.size)))
    (if (i32.gt_s (local.get $pages) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $pages)) (i32.const -1)) (then (unreachable))))))

  ;; Reserves `bytes` of table space and returns its address.
  (func $allocate (param $bytes i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $top))
    (global.set $top (i32.add (local.get $at) (local.get $bytes)))
    (call $ensure (global.get $top))
    (local.get $at))

  (func $fillRadix4 (param $at i32) (param $q i32) (param $w i32)
    (local $k i32) (local $x i32) (local $x2 i32) (local $x3 i32) (local $p i32)
    (local.set $x (i32.const 1))
    (loop $next
      (local.set $p (i32.add (local.get $at) (i32.add
        (i32.mul (i32.shr_u (local.get $k) (i32.const 2)) (i32.const 96))
        (i32.shl (i32.and (local.get $k) (i32.const 3)) (i32.const 2)))))
      (local.set $x2 (call $mulmod (local.get $x) (local.get $x)))
      (local.set $x3 (call $mulmod (local.get $x2) (local.get $x)))
      (i32.store offset=0 (local.get $p) (local.get $x))
      (i32.store offset=16 (local.get $p) (call $companion (local.get $x)))
      (i32.store offset=32 (local.get $p) (local.get $x2))
      (i32.store offset=48 (local.get $p) (call $companion (local.get $x2)))
      (i32.store offset=64 (local.get $p) (local.get $x3))
      (i32.store offset=80 (local.get $p) (call $companion (local.get $x3)))
      (local.set $x (call $mulmod (local.get $x) (local.get $w)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $k) (local.get $q)))))

  (func $fillRadix2 (param $at i32) (param $half i32) (param $w i32)
    (local $k i32) (local $x i32) (local $p i32)
    (local.set $x (i32.const 1))
    (loop $next
      (local.set $p (i32.add (local.get $at) (i32.add
        (i32.shl (i32.shr_u (local.get $k) (i32.const 2)) (i32.const 5))
        (i32.shl (i32.and (local.get $k) (i32.const 3)) (i32.const 2)))))
      (i32.store offset=0 (local.get $p) (local.get $x))
      (i32.store offset=16 (local.get $p) (call $companion (local.get $x)))
      (local.set $x (call $mulmod (local.get $x) (local.get $w)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $k) (local.get $half)))))

  ;; Builds the tables transforms of length n (a power of two, 16 <= n <= 2^22) need and returns
  ;; the first free address (a multiple of 16).
  (func (export "prepare") (param $n i32) (result i32)
    (local $log i32) (local $slot i32) (local $q i32) (local $n4 i32)
    (if (i32.eqz (global.get $generator))
      (then
        (global.set $generator (call $findGenerator))
        (global.set $J (call $root (i32.const 4)))
        (global.set $Jc (call $companion (global.get $J)))))
    (local.set $log (i32.ctz (local.get $n)))
    (local.set $n4 (local.get $n))
    (if (i32.and (local.get $log) (i32.const 1))
      (then
        (local.set $n4 (i32.shr_u (local.get $n) (i32.const 1)))
        (local.set $slot (i32.shl (local.get $log) (i32.const 2)))
        (if (i32.eqz (i32.load offset=128 (local.get $slot)))
          (then
            (i32.store offset=128 (local.get $slot) (call $allocate (i32.shl (local.get $n) (i32.const 2))))
            (call $fillRadix2 (i32.load offset=128 (local.get $slot)) (local.get $n4) (call $root (local.get $n)))))))
    (local.set $q (i32.const 4))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.shl (local.get $q) (i32.const 2)) (local.get $n4)))
        (local.set $slot (i32.shl (i32.ctz (local.get $q)) (i32.const 2)))
        (if (i32.eqz (i32.load (local.get $slot)))
          (then
            (i32.store (local.get $slot) (call $allocate (i32.mul (local.get $q) (i32.const 24))))
            (call $fillRadix4 (i32.load (local.get $slot)) (local.get $q)
              (call $root (i32.shl (local.get $q) (i32.const 2))))))
        (local.set $q (i32.shl (local.get $q) (i32.const 2)))
        (br $next)))
    (global.get $top))

  ;; Forward radix-2 stage over n residues (values below 4P in, below 4P out):
  ;; (x0, x1) -> (x0 + x1, (x0 - x1) w^k), x1 at distance n / 2.
  (func $difRadix2 (param $p i32) (param $n i32)
    (local $tw i32) (local $half i32) (local $end i32)
    (local $x0 v128) (local $x1 v128) (local $e v128) (local $c v128) (local $s v128)
    (local $P v128) (local $P4 v128)
    (local.set $P (i32x4.splat (i32.const 104857601)))
    (local.set $P4 (i32x4.splat (i32.const 419430404)))
    (local.set $tw (i32.load offset=128 (i32.shl (i32.ctz (local.get $n)) (i32.const 2))))
    (local.set $half (i32.shl (local.get $n) (i32.const 1)))
    (local.set $end (i32.add (local.get $p) (local.get $half)))
    (loop $next
      (local.set $x0 (v128.load (local.get $p)))
      (local.set $x1 (v128.load (i32.add (local.get $p) (local.get $half))))
      (local.set $s (i32x4.add (local.get $x0) (local.get $x1)))
      (v128.store (local.get $p) (i32x4.min_u (local.get $s) (i32x4.sub (local.get $s) (local.get $P4))))
      (local.set $e (i32x4.add (i32x4.sub (local.get $x0) (local.get $x1)) (local.get $P4)))
      (v128.store (i32.add (local.get $p) (local.get $half))
        (i32x4.sub
          (i32x4.mul (local.get $e) (v128.load (local.get $tw)))
          (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (i64x2.extmul_low_i32x4_u (local.get $e) (local.tee $c (v128.load offset=16 (local.get $tw))))
            (i64x2.extmul_high_i32x4_u (local.get $e) (local.get $c))))))
      (local.set $tw (i32.add (local.get $tw) (i32.const 32)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br_if $next (i32.lt_u (local.get $p) (local.get $end)))))

  ;; Forward radix-4 stage of quarter q >= 4 over len residues (values below 4P in and out):
  ;; with t0 = x0 + x2, t1 = x0 - x2, t2 = x1 + x3, t3 = (x1 - x3) J,
  ;; (x0, x1, x2, x3) -> (t0 + t2, (t0 - t2) w^2k, (t1 + t3) w^k, (t1 - t3) w^3k), xi at k + i q.
  ;; Intermediates: t0, t1, t2 < 8P, t3 < 2P, t0 + t2 and t0 - t2 + 8P < 16P, the other two < 10P.
  (func $difStage (param $p i32) (param $len i32) (param $q i32)
    (local $roots i32) (local $tw i32) (local $stride i32) (local $end i32) (local $stop i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $e v128) (local $c v128)
    (local $P v128) (local $P2 v128) (local $P4 v128) (local $P8 v128) (local $J v128) (local $Jc v128)
    (local.set $P (i32x4.splat (i32.const 104857601)))
    (local.set $P2 (i32x4.splat (i32.const 209715202)))
    (local.set $P4 (i32x4.splat (i32.const 419430404)))
    (local.set $P8 (i32x4.splat (i32.const 838860808)))
    (local.set $J (i32x4.splat (global.get $J)))
    (local.set $Jc (i32x4.splat (global.get $Jc)))
    (local.set $roots (i32.load (i32.shl (i32.ctz (local.get $q)) (i32.const 2))))
    (local.set $stride (i32.shl (local.get $q) (i32.const 2)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 2))))
    (loop $block
      (local.set $tw (local.get $roots))
      (local.set $stop (i32.add (local.get $p) (local.get $stride)))
      (loop $next
        (local.set $x0 (v128.load (local.get $p)))
        (local.set $x1 (v128.load (i32.add (local.get $p) (local.get $stride))))
        (local.set $x2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 1)))))
        (local.set $x3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 3)))))
        (local.set $t0 (i32x4.add (local.get $x0) (local.get $x2)))
        (local.set $t1 (i32x4.add (i32x4.sub (local.get $x0) (local.get $x2)) (local.get $P4)))
        (local.set $t2 (i32x4.add (local.get $x1) (local.get $x3)))
        (local.set $e (i32x4.add (i32x4.sub (local.get $x1) (local.get $x3)) (local.get $P4)))
        (local.set $t3 (i32x4.sub
          (i32x4.mul (local.get $e) (local.get $J))
          (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (i64x2.extmul_low_i32x4_u (local.get $e) (local.get $Jc))
            (i64x2.extmul_high_i32x4_u (local.get $e) (local.get $Jc))))))
        (local.set $e (i32x4.add (local.get $t0) (local.get $t2)))
        (local.set $e (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P8))))
        (v128.store (local.get $p) (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P4))))
        (local.set $e (i32x4.add (i32x4.sub (local.get $t0) (local.get $t2)) (local.get $P8)))
        (v128.store (i32.add (local.get $p) (local.get $stride))
          (i32x4.sub
            (i32x4.mul (local.get $e) (v128.load offset=32 (local.get $tw)))
            (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
              (i64x2.extmul_low_i32x4_u (local.get $e) (local.tee $c (v128.load offset=48 (local.get $tw))))
              (i64x2.extmul_high_i32x4_u (local.get $e) (local.get $c))))))
        (local.set $e (i32x4.add (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 1)))
          (i32x4.sub
            (i32x4.mul (local.get $e) (v128.load offset=0 (local.get $tw)))
            (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
              (i64x2.extmul_low_i32x4_u (local.get $e) (local.tee $c (v128.load offset=16 (local.get $tw))))
              (i64x2.extmul_high_i32x4_u (local.get $e) (local.get $c))))))
        (local.set $e (i32x4.add (i32x4.sub (local.get $t1) (local.get $t3)) (local.get $P2)))
        (v128.store (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 3)))
          (i32x4.sub
            (i32x4.mul (local.get $e) (v128.load offset=64 (local.get $tw)))
            (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
              (i64x2.extmul_low_i32x4_u (local.get $e) (local.tee $c (v128.load offset=80 (local.get $tw))))
              (i64x2.extmul_high_i32x4_u (local.get $e) (local.get $c))))))
        (local.set $tw (i32.add (local.get $tw) (i32.const 96)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br_if $next (i32.lt_u (local.get $p) (local.get $stop))))
      (local.set $p (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 3))))
      (br_if $block (i32.lt_u (local.get $p) (local.get $end)))))

  ;; The forward stage of quarter 1 (every twiddle 1) over len residues, values below 4P in and
  ;; out: the butterflies of each 16 residues run in lanes after a 4 x 4 transposition, and their
  ;; outputs stay transposed. Output bounds before reduction: 16P, 16P, 10P, 10P.
  (func $difLast (param $p i32) (param $len i32)
    (local $end i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $e v128)
    (local $P v128) (local $P2 v128) (local $P4 v128) (local $P8 v128) (local $J v128) (local $Jc v128)
    (local.set $P (i32x4.splat (i32.const 104857601)))
    (local.set $P2 (i32x4.splat (i32.const 209715202)))
    (local.set $P4 (i32x4.splat (i32.const 419430404)))
    (local.set $P8 (i32x4.splat (i32.const 838860808)))
    (local.set $J (i32x4.splat (global.get $J)))
    (local.set $Jc (i32x4.splat (global.get $Jc)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 2))))
    (loop $next
      (local.set $v0 (v128.load offset=0 (local.get $p)))
      (local.set $v1 (v128.load offset=16 (local.get $p)))
      (local.set $v2 (v128.load offset=32 (local.get $p)))
      (local.set $v3 (v128.load offset=48 (local.get $p)))
      (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
      (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
      (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
      (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
      (local.set $v0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
      (local.set $v1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
      (local.set $v2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
      (local.set $v3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
      (local.set $t0 (i32x4.add (local.get $v0) (local.get $v2)))
      (local.set $t1 (i32x4.add (i32x4.sub (local.get $v0) (local.get $v2)) (local.get $P4)))
      (local.set $t2 (i32x4.add (local.get $v1) (local.get $v3)))
      (local.set $e (i32x4.add (i32x4.sub (local.get $v1) (local.get $v3)) (local.get $P4)))
      (local.set $t3 (i32x4.sub
        (i32x4.mul (local.get $e) (local.get $J))
        (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
          (i64x2.extmul_low_i32x4_u (local.get $e) (local.get $Jc))
          (i64x2.extmul_high_i32x4_u (local.get $e) (local.get $Jc))))))
      (local.set $e (i32x4.add (local.get $t0) (local.get $t2)))
      (local.set $e (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P8))))
      (v128.store offset=0 (local.get $p) (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P4))))
      (local.set $e (i32x4.add (i32x4.sub (local.get $t0) (local.get $t2)) (local.get $P8)))
      (local.set $e (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P8))))
      (v128.store offset=16 (local.get $p) (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P4))))
      (local.set $e (i32x4.add (local.get $t1) (local.get $t3)))
      (local.set $e (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P8))))
      (v128.store offset=32 (local.get $p) (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P4))))
      (local.set $e (i32x4.add (i32x4.sub (local.get $t1) (local.get $t3)) (local.get $P2)))
      (local.set $e (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P8))))
      (v128.store offset=48 (local.get $p) (i32x4.min_u (local.get $e) (i32x4.sub (local.get $e) (local.get $P4))))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $next (i32.lt_u (local.get $p) (local.get $end)))))

  ;; acc = acc + a b 2^-32 mod P over len residues: a, b < 4P (the forward transforms' outputs),
  ;; acc < 2P in and out. With u in (-P, P) the Montgomery result, acc + u + P < 4P.
  (func $multiplyAccumulate (param $a i32) (param $b i32) (param $acc i32) (param $len i32)
    (local $end i32) (local $x v128) (local $y v128) (local $m v128) (local $s v128)
    (local $P v128) (local $P2 v128) (local $PINV v128)
    (local.set $P (i32x4.splat (i32.const 104857601)))
    (local.set $P2 (i32x4.splat (i32.const 209715202)))
    ;; P^-1 mod 2^32
    (local.set $PINV (i32x4.splat (i32.const 4190109697)))
    (local.set $end (i32.add (local.get $acc) (i32.shl (local.get $len) (i32.const 2))))
    (loop $next
      (local.set $x (v128.load (local.get $a)))
      (local.set $y (v128.load (local.get $b)))
      (local.set $m (i32x4.mul (i32x4.mul (local.get $x) (local.get $y)) (local.get $PINV)))
      (local.set $s (i32x4.add (i32x4.add (v128.load (local.get $acc)) (local.get $P))
        (i32x4.sub
          (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (i64x2.extmul_low_i32x4_u (local.get $x) (local.get $y))
            (i64x2.extmul_high_i32x4_u (local.get $x) (local.get $y)))
          (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (i64x2.extmul_low_i32x4_s (local.get $m) (local.get $P))
            (i64x2.extmul_high_i32x4_s (local.get $m) (local.get $P))))))
      (v128.store (local.get $acc) (i32x4.min_u (local.get $s) (i32x4.sub (local.get $s) (local.get $P2))))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $acc (i32.add (local.get $acc) (i32.const 16)))
      (br_if $next (i32.lt_u (local.get $acc) (local.get $end)))))

  ;; acc += F a .* F b (times 2^-32, in the forward transform's order) for arrays of n residues,
  ;; a and b holding values below 4P (they are overwritten) and acc values below 2P.
  (func (export "forwardProduct") (param $a i32) (param $b i32) (param $acc i32) (param $n i32)
    (local $n4 i32) (local $q i32) (local $r i32) (local $span i32) (local $bytes i32) (local $at i32)
    (local.set $n4 (local.get $n))
    (if (i32.and (i32.ctz (local.get $n)) (i32.const 1))
      (then
        (call $difRadix2 (local.get $a) (local.get $n))
        (call $difRadix2 (local.get $b) (local.get $n))
        (local.set $n4 (i32.shr_u (local.get $n) (i32.const 1)))))
    (local.set $q (i32.shr_u (local.get $n4) (i32.const 2)))
    (block $swept
      (loop $sweep
        (br_if $swept (i32.le_u (i32.shl (local.get $q) (i32.const 2)) (global.get $BLOCK)))
        (call $difStage (local.get $a) (local.get $n) (local.get $q))
        (call $difStage (local.get $b) (local.get $n) (local.get $q))
        (local.set $q (i32.shr_u (local.get $q) (i32.const 2)))
        (br $sweep)))
    ;; Blocks of span = 4q residues: the remaining stages never leave one.
    (local.set $span (i32.shl (local.get $q) (i32.const 2)))
    (local.set $bytes (i32.shl (local.get $span) (i32.const 2)))
    (loop $block
      (local.set $r (local.get $q))
      (block $staged
        (loop $stage
          (br_if $staged (i32.lt_u (local.get $r) (i32.const 4)))
          (call $difStage (i32.add (local.get $a) (local.get $at)) (local.get $span) (local.get $r))
          (call $difStage (i32.add (local.get $b) (local.get $at)) (local.get $span) (local.get $r))
          (local.set $r (i32.shr_u (local.get $r) (i32.const 2)))
          (br $stage)))
      (call $difLast (i32.add (local.get $a) (local.get $at)) (local.get $span))
      (call $difLast (i32.add (local.get $b) (local.get $at)) (local.get $span))
      (call $multiplyAccumulate (i32.add (local.get $a) (local.get $at)) (i32.add (local.get $b) (local.get $at))
        (i32.add (local.get $acc) (local.get $at)) (local.get $span))
      (local.set $at (i32.add (local.get $at) (local.get $bytes)))
      (br_if $block (i32.lt_u (local.get $at) (i32.shl (local.get $n) (i32.const 2))))))

  ;; The transpose of $difLast over len residues (values below 2P in, below 8P out): reads the
  ;; transposed layout, writes the natural one. With s0 = x0 + x1, s1 = x0 - x1, s2 = x2 + x3,
  ;; s3 = (x2 - x3) J: (x0, x1, x2, x3) -> (s0 + s2, s1 + s3, s0 - s2, s1 - s3), every si < 4P.
  (func $ditFirst (param $p i32) (param $len i32)
    (local $end i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $e v128)
    (local $P v128) (local $P2 v128) (local $P4 v128) (local $J v128) (local $Jc v128)
    (local.set $P (i32x4.splat (i32.const 104857601)))
    (local.set $P2 (i32x4.splat (i32.const 209715202)))
    (local.set $P4 (i32x4.splat (i32.const 419430404)))
    (local.set $J (i32x4.splat (global.get $J)))
    (local.set $Jc (i32x4.splat (global.get $Jc)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 2))))
    (loop $next
      (local.set $v0 (v128.load offset=0 (local.get $p)))
      (local.set $v1 (v128.load offset=16 (local.get $p)))
      (local.set $v2 (v128.load offset=32 (local.get $p)))
      (local.set $v3 (v128.load offset=48 (local.get $p)))
      (local.set $s0 (i32x4.add (local.get $v0) (local.get $v1)))
      (local.set $s1 (i32x4.add (i32x4.sub (local.get $v0) (local.get $v1)) (local.get $P2)))
      (local.set $s2 (i32x4.add (local.get $v2) (local.get $v3)))
      (local.set $e (i32x4.add (i32x4.sub (local.get $v2) (local.get $v3)) (local.get $P2)))
      (local.set $s3 (i32x4.sub
        (i32x4.mul (local.get $e) (local.get $J))
        (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
          (i64x2.extmul_low_i32x4_u (local.get $e) (local.get $Jc))
          (i64x2.extmul_high_i32x4_u (local.get $e) (local.get $Jc))))))
      (local.set $v0 (i32x4.add (local.get $s0) (local.get $s2)))
      (local.set $v1 (i32x4.add (local.get $s1) (local.get $s3)))
      (local.set $v2 (i32x4.add (i32x4.sub (local.get $s0) (local.get $s2)) (local.get $P4)))
      (local.set $v3 (i32x4.add (i32x4.sub (local.get $s1) (local.get $s3)) (local.get $P2)))
      (local.set $s0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
      (local.set $s1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
      (local.set $s2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
      (local.set $s3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
      (v128.store offset=0 (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s0) (local.get $s2)))
      (v128.store offset=16 (local.get $p) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s0) (local.get $s2)))
      (v128.store offset=32 (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $s1) (local.get $s3)))
      (v128.store offset=48 (local.get $p) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $s1) (local.get $s3)))
      (local.set $p (i32.add (local.get $p) (i32.const 64)))
      (br_if $next (i32.lt_u (local.get $p) (local.get $end)))))

  ;; The transpose of $difStage, quarter q >= 4, over len residues (values below 8P in and out):
  ;; x0 is first brought below 2P; with A1 = x1 w^2k, A2 = x2 w^k, A3 = x3 w^3k (each below 2P),
  ;; s0 = x0 + A1, s1 = x0 - A1, s2 = A2 + A3, s3 = (A2 - A3) J (all below 4P):
  ;; (x0, x1, x2, x3) -> (s0 + s2, s1 + s3, s0 - s2, s1 - s3).
  (func $ditStage (param $p i32) (param $len i32) (param $q i32)
    (local $roots i32) (local $tw i32) (local $stride i32) (local $end i32) (local $stop i32)
    (local $x0 v128) (local $x v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $c v128)
    (local $P v128) (local $P2 v128) (local $P4 v128) (local $J v128) (local $Jc v128)
    (local.set $P (i32x4.splat (i32.const 104857601)))
    (local.set $P2 (i32x4.splat (i32.const 209715202)))
    (local.set $P4 (i32x4.splat (i32.const 419430404)))
    (local.set $J (i32x4.splat (global.get $J)))
    (local.set $Jc (i32x4.splat (global.get $Jc)))
    (local.set $roots (i32.load (i32.shl (i32.ctz (local.get $q)) (i32.const 2))))
    (local.set $stride (i32.shl (local.get $q) (i32.const 2)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 2))))
    (loop $block
      (local.set $tw (local.get $roots))
      (local.set $stop (i32.add (local.get $p) (local.get $stride)))
      (loop $next
        (local.set $x0 (v128.load (local.get $p)))
        (local.set $x0 (i32x4.min_u (local.get $x0) (i32x4.sub (local.get $x0) (local.get $P4))))
        (local.set $x0 (i32x4.min_u (local.get $x0) (i32x4.sub (local.get $x0) (local.get $P2))))
        (local.set $x (v128.load (i32.add (local.get $p) (local.get $stride))))
        (local.set $a1 (i32x4.sub
          (i32x4.mul (local.get $x) (v128.load offset=32 (local.get $tw)))
          (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (i64x2.extmul_low_i32x4_u (local.get $x) (local.tee $c (v128.load offset=48 (local.get $tw))))
            (i64x2.extmul_high_i32x4_u (local.get $x) (local.get $c))))))
        (local.set $x (v128.load (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 1)))))
        (local.set $a2 (i32x4.sub
          (i32x4.mul (local.get $x) (v128.load offset=0 (local.get $tw)))
          (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (i64x2.extmul_low_i32x4_u (local.get $x) (local.tee $c (v128.load offset=16 (local.get $tw))))
            (i64x2.extmul_high_i32x4_u (local.get $x) (local.get $c))))))
        (local.set $x (v128.load (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 3)))))
        (local.set $a3 (i32x4.sub
          (i32x4.mul (local.get $x) (v128.load offset=64 (local.get $tw)))
          (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (i64x2.extmul_low_i32x4_u (local.get $x) (local.tee $c (v128.load offset=80 (local.get $tw))))
            (i64x2.extmul_high_i32x4_u (local.get $x) (local.get $c))))))
        (local.set $s0 (i32x4.add (local.get $x0) (local.get $a1)))
        (local.set $s1 (i32x4.add (i32x4.sub (local.get $x0) (local.get $a1)) (local.get $P2)))
        (local.set $s2 (i32x4.add (local.get $a2) (local.get $a3)))
        (local.set $x (i32x4.add (i32x4.sub (local.get $a2) (local.get $a3)) (local.get $P2)))
        (local.set $s3 (i32x4.sub
          (i32x4.mul (local.get $x) (local.get $J))
          (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
            (i64x2.extmul_low_i32x4_u (local.get $x) (local.get $Jc))
            (i64x2.extmul_high_i32x4_u (local.get $x) (local.get $Jc))))))
        (v128.store (local.get $p) (i32x4.add (local.get $s0) (local.get $s2)))
        (v128.store (i32.add (local.get $p) (local.get $stride)) (i32x4.add (local.get $s1) (local.get $s3)))
        (v128.store (i32.add (local.get $p) (i32.shl (local.get $stride) (i32.const 1)))
          (i32x4.add (i32x4.sub (local.get $s0) (local.get $s2)) (local.get $P4)))
        (v128.store (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 3)))
          (i32x4.add (i32x4.sub (local.get $s1) (local.get $s3)) (local.get $P2)))
        (local.set $tw (i32.add (local.get $tw) (i32.const 96)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br_if $next (i32.lt_u (local.get $p) (local.get $stop))))
      (local.set $p (i32.add (local.get $p) (i32.mul (local.get $stride) (i32.const 3))))
      (br_if $block (i32.lt_u (local.get $p) (local.get $end)))))

  ;; The transpose of $difRadix2 (values below 8P in, below 4P out): x0 brought below 2P,
  ;; A = x1 w^k below 2P, (x0, x1) -> (x0 + A, x0 - A).
  (func $ditRadix2 (param $p i32) (param $n i32)
    (local $tw i32) (local $half i32) (local $end i32)
    (local $x0 v128) (local $x1 v128) (local $a v128) (local $c v128)
    (local $P v128) (local $P2 v128) (local $P4 v128)
    (local.set $P (i32x4.splat (i32.const 104857601)))
    (local.set $P2 (i32x4.splat (i32.const 209715202)))
    (local.set $P4 (i32x4.splat (i32.const 419430404)))
    (local.set $tw (i32.load offset=128 (i32.shl (i32.ctz (local.get $n)) (i32.const 2))))
    (local.set $half (i32.shl (local.get $n) (i32.const 1)))
    (local.set $end (i32.add (local.get $p) (local.get $half)))
    (loop $next
      (local.set $x0 (v128.load (local.get $p)))
      (local.set $x0 (i32x4.min_u (local.get $x0) (i32x4.sub (local.get $x0) (local.get $P4))))
      (local.set $x0 (i32x4.min_u (local.get $x0) (i32x4.sub (local.get $x0) (local.get $P2))))
      (local.set $x1 (v128.load (i32.add (local.get $p) (local.get $half))))
      (local.set $a (i32x4.sub
        (i32x4.mul (local.get $x1) (v128.load (local.get $tw)))
        (i32x4.mul (local.get $P) (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31
          (i64x2.extmul_low_i32x4_u (local.get $x1) (local.tee $c (v128.load offset=16 (local.get $tw))))
          (i64x2.extmul_high_i32x4_u (local.get $x1) (local.get $c))))))
      (v128.store (local.get $p) (i32x4.add (local.get $x0) (local.get $a)))
      (v128.store (i32.add (local.get $p) (local.get $half))
        (i32x4.add (i32x4.sub (local.get $x0) (local.get $a)) (local.get $P2)))
      (local.set $tw (i32.add (local.get $tw) (i32.const 32)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br_if $next (i32.lt_u (local.get $p) (local.get $end)))))

  ;; The transpose of the forward transform on n residues below 2P (the accumulated products),
  ;; leaving values below 8P in natural order.
  (func (export "inverse") (param $p i32) (param $n i32)
    (local $n4 i32) (local $span i32) (local $q i32) (local $at i32)
    (local.set $n4 (local.get $n))
    (if (i32.and (i32.ctz (local.get $n)) (i32.const 1))
      (then (local.set $n4 (i32.shr_u (local.get $n) (i32.const 1)))))
    (local.set $span (local.get $n4))
    (if (i32.gt_u (local.get $span) (global.get $BLOCK)) (then (local.set $span (global.get $BLOCK))))
    (loop $block
      (call $ditFirst (i32.add (local.get $p) (local.get $at)) (local.get $span))
      (local.set $q (i32.const 4))
      (block $staged
        (loop $stage
          (br_if $staged (i32.gt_u (i32.shl (local.get $q) (i32.const 2)) (local.get $span)))
          (call $ditStage (i32.add (local.get $p) (local.get $at)) (local.get $span) (local.get $q))
          (local.set $q (i32.shl (local.get $q) (i32.const 2)))
          (br $stage)))
      (local.set $at (i32.add (local.get $at) (i32.shl (local.get $span) (i32.const 2))))
      (br_if $block (i32.lt_u (local.get $at) (i32.shl (local.get $n) (i32.const 2)))))
    (block $swept
      (loop $sweep
        (br_if $swept (i32.gt_u (i32.shl (local.get $q) (i32.const 2)) (local.get $n4)))
        (call $ditStage (local.get $p) (local.get $n) (local.get $q))
        (local.set $q (i32.shl (local.get $q) (i32.const 2)))
        (br $sweep)))
    (if (i32.ne (local.get $n4) (local.get $n)) (then (call $ditRadix2 (local.get $p) (local.get $n)))))

  ;; dst[i] = src[i] for i < count: bits (bytes) widened to residues.
  (func (export "widen") (param $dst i32) (param $src i32) (param $count i32)
    (local $end i32) (local $v v128) (local $h v128)
    (local.set $end (i32.add (local.get $src) (local.get $count)))
    (block $vectors
      (loop $next
        (br_if $vectors (i32.gt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end)))
        (local.set $v (v128.load (local.get $src)))
        (local.set $h (i16x8.extend_low_i8x16_u (local.get $v)))
        (v128.store offset=0 (local.get $dst) (i32x4.extend_low_i16x8_u (local.get $h)))
        (v128.store offset=16 (local.get $dst) (i32x4.extend_high_i16x8_u (local.get $h)))
        (local.set $h (i16x8.extend_high_i8x16_u (local.get $v)))
        (v128.store offset=32 (local.get $dst) (i32x4.extend_low_i16x8_u (local.get $h)))
        (v128.store offset=48 (local.get $dst) (i32x4.extend_high_i16x8_u (local.get $h)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
        (br $next)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $tail))))

  ;; out[i] = the parity of the integer c with c = acc[(first - i) mod n] (n 2^-32)^-1 mod P, for
  ;; i < count: the inverse left n 2^-32 times the convolution there, reversed. Shoup's product
  ;; r lies in [0, 2P) and c is r or r - P, whose parity differs as P is odd.
  (func (export "parities") (param $out i32) (param $acc i32) (param $n i32) (param $first i32) (param $count i32)
    (local $scale i32) (local $scaleC i64) (local $x i32) (local $r i32) (local $end i32)
    (local.set $scale (call $mulmod
      (call $powmod (local.get $n) (i32.const 104857599))
      (i32.wrap_i64 (i64.rem_u (i64.const 4294967296) (i64.const 104857601)))))
    (local.set $scaleC (i64.extend_i32_u (call $companion (local.get $scale))))
    (local.set $end (i32.add (local.get $out) (local.get $count)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $x (i32.load (i32.add (local.get $acc)
          (i32.shl (i32.and (local.get $first) (i32.sub (local.get $n) (i32.const 1))) (i32.const 2)))))
        (local.set $r (i32.sub
          (i32.mul (local.get $x) (local.get $scale))
          (i32.mul (i32.const 104857601) (i32.wrap_i64 (i64.shr_u
            (i64.mul (i64.extend_i32_u (local.get $x)) (local.get $scaleC)) (i64.const 32))))))
        (i32.store8 (local.get $out) (i32.xor
          (i32.and (local.get $r) (i32.const 1))
          (i32.ge_u (local.get $r) (i32.const 104857601))))
        (local.set $first (i32.sub (local.get $first) (i32.const 1)))
        (local.set $out (i32.add (local.get $out) (i32.const 1)))
        (br $next)))))
