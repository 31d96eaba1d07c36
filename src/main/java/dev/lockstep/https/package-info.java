/**
 * The TLS side of this node's HTTPS clients (remote participants, the peer's API): an
 * {@code SSLContext} built from a Spring Boot SSL bundle that follows the bundle's
 * reloads, and the description of a certificate failure as untrusted, expired or a name
 * mismatch. Depends on the JDK and Spring Boot's {@code ssl} package only.
 */
@NullMarked
package dev.lockstep.https;

import org.jspecify.annotations.NullMarked;
