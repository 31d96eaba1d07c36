package dev.lockstep.security;

import java.io.IOException;
import java.util.List;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Authenticates requests that carry {@code Authorization: Bearer <token>} with the API
 * token. A request without the header passes on unauthenticated; one with a wrong token
 * is marked so that the entry point can say so.
 */
final class BearerTokenFilter extends OncePerRequestFilter {

	static final String REJECTED_TOKEN = BearerTokenFilter.class.getName() + ".rejected";

	private static final String PREFIX = "bearer ";

	private final ApiToken token;

	private final String tokenName;

	BearerTokenFilter(ApiToken token, String tokenName) {
		this.token = token;
		this.tokenName = tokenName;
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		String header = request.getHeader(HttpHeaders.AUTHORIZATION);
		if (header != null && header.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
			String presented = header.substring(PREFIX.length()).strip();
			if (this.token.matches(presented)) {
				SecurityContextHolder.getContext()
					.setAuthentication(UsernamePasswordAuthenticationToken.authenticated(this.tokenName, null,
							List.of(new SimpleGrantedAuthority("ROLE_OPERATOR"))));
			}
			else {
				request.setAttribute(REJECTED_TOKEN, true);
			}
		}
		chain.doFilter(request, response);
	}

}
