/**
 * The NBD protocol and server: constants ({@code Nbd}) and the message codecs of the
 * handshake and the transmission phase, shared with the client, and the server with one
 * connection's handshake (with its STARTTLS upgrade) and transmission phase. Depends on
 * the block layer's devices and exports ({@code dev.lockstep.block}), the TLS channel of
 * {@code dev.lockstep.block.nbd.tls} and {@code dev.lockstep.logging}, never on what uses
 * the server.
 */
@NullMarked
package dev.lockstep.block.nbd;

import org.jspecify.annotations.NullMarked;
