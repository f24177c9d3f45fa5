package app

// DevelopmentTitle is developmentTitle, for tests.
var DevelopmentTitle = developmentTitle
