package dev.lockstep.security;

import java.io.IOException;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.lockstep.api.ProblemDetailWriter;
import dev.lockstep.logging.LogText;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.AuthenticationEntryPoint;

/**
 * Answers unauthenticated API calls with {@code 401}, a {@code WWW-Authenticate:
 * Bearer} challenge and a problem+json body, and logs the attempt without the token.
 */
final class ProblemAuthenticationEntryPoint implements AuthenticationEntryPoint {

	private static final Log logger = LogFactory.getLog(ProblemAuthenticationEntryPoint.class);

	@Override
	public void commence(HttpServletRequest request, HttpServletResponse response,
			AuthenticationException authException) throws IOException {
		boolean rejected = request.getAttribute(BearerTokenFilter.REJECTED_TOKEN) != null;
		String reason = rejected ? "a wrong bearer token" : "no bearer token";
		logger.warn("Refused " + LogText.quote(request.getMethod()) + " " + LogText.quote(request.getRequestURI())
				+ " from " + request.getRemoteAddr() + ": " + reason);
		response.setHeader(HttpHeaders.WWW_AUTHENTICATE,
				rejected ? "Bearer realm=\"lockstep\", error=\"invalid_token\"" : "Bearer realm=\"lockstep\"");
		String detail = rejected ? "The bearer token is wrong. Send the API token as 'Authorization: Bearer <token>'."
				: "This endpoint needs the API token. Send it as 'Authorization: Bearer <token>'; by default it is "
						+ "in data/api-token.";
		ProblemDetailWriter.write(response, HttpStatus.UNAUTHORIZED, detail);
	}

}
