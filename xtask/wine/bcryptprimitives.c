/* bcryptprimitives.dll for Wine 8 (Debian bookworm's wine64), which lacks
 * it: Rust's std (1.78+) imports ProcessPrng from it on Windows for
 * HashMap seeds and random numbers, so without this no Rust test binary
 * starts under that Wine. ProcessPrng fills the buffer from the system
 * CSPRNG; here through RtlGenRandom (advapi32's SystemFunction036), which
 * Wine implements. Built by `cargo xtask test --host windows` into the
 * Wine prefix under target/ only; nothing of it ships with anyloop. */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
