import { describe, expect, it } from "vitest";
import { rc2CbcDecrypt, rc2DecryptBlocks } from "./rc2.js";

const hex = (text: string): Buffer => Buffer.from(text.replaceAll(" ", ""), "hex");

describe("RC2 (RFC 2268)", () => {
  // RFC 2268 §5 test vectors: key, effective key bits, plaintext, ciphertext.
  const vectors: Array<[string, number, string, string]> = [
    ["0000000000000000", 63, "0000000000000000", "ebb773f993278eff"],
    ["ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"],
    ["3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"],
    ["88", 64, "0000000000000000", "61a8a244adacccf0"],
    ["88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"],
    ["88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"],
    ["88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"],
    [
      "88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e",
      129,
      "0000000000000000",
      "5b78d3a43dfff1f1",
    ],
  ];

  it.each(vectors)("decrypts the RFC 2268 vector with key %s (%i effective bits)", (key, bits, plain, cipher) => {
    expect(rc2DecryptBlocks(hex(key), bits, hex(cipher)).toString("hex")).toBe(plain);
  });

  it("removes PKCS#5 padding in CBC mode and reports bad padding as undefined", () => {
    // One block of all-0x08 padding, CBC with a zero IV = ECB of the padding block.
    const key = hex("88bca90e90875a7f0f79c384627bafb2");
    const zeroIv = Buffer.alloc(8);
    // Ciphertext of 0x0000000000000000 under this key (vector above): CBC-decrypting it with IV 0808..08 gives 0808..08.
    const padded = rc2CbcDecrypt(key, 128, Buffer.alloc(8, 8), hex("2269552ab0f85ca6"));
    expect(padded).toEqual(Buffer.alloc(0));
    expect(rc2CbcDecrypt(key, 128, zeroIv, hex("2269552ab0f85ca6"))).toBeUndefined();
    expect(rc2CbcDecrypt(key, 128, zeroIv, hex("2269552ab0f85c"))).toBeUndefined();
  });
});
