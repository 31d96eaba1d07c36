/**
 * An NBD client: its handshake, pipelined requests with a future each, and a remote
 * export seen as a block device. Depends on the protocol and codec of
 * {@code dev.lockstep.block.nbd}, the TLS channel of {@code dev.lockstep.block.nbd.tls}
 * and the block layer's device contract only.
 */
@NullMarked
package dev.lockstep.block.nbd.client;

import org.jspecify.annotations.NullMarked;
