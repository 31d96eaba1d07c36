/**
 * TLS for NBD connections: a blocking byte channel that runs an {@code SSLEngine} over a
 * socket once {@code NBD_OPT_STARTTLS} has been agreed, the protocols and suites both
 * sides allow, and log-ready descriptions of handshake failures. Depends on the JDK only,
 * so that the server and the client can share it.
 */
@NullMarked
package dev.lockstep.block.nbd.tls;

import org.jspecify.annotations.NullMarked;
