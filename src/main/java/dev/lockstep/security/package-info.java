/**
 * Who may call what: the API's bearer token, the filter that checks it, the limit on
 * request bodies and the {@code 401} answer. May depend on {@code dev.lockstep.api} for
 * its problem+json answers and on {@code dev.lockstep.logging}; nothing else depends on
 * it.
 */
@NullMarked
package dev.lockstep.security;

import org.jspecify.annotations.NullMarked;
